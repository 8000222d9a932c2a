"""`python -m target_supabase_hybrid`."""

from target_supabase_hybrid.target import TargetSupabaseHybrid

TargetSupabaseHybrid.cli()
