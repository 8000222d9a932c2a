"""`python -m target_supabase_hybrid`."""

from target_supabase_hybrid.cli import main

main()
