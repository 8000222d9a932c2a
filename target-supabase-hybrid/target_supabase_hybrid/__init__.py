"""Singer target: records → hybrid PostgreSQL/Supabase tables (typed hot columns + the record as JSONB)."""
