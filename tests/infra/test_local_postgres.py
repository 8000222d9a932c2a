"""The PostgreSQL fixture really gives each test its own empty database."""

import psycopg2


def test_given_two_tests_when_each_creates_a_table_then_databases_are_isolated(database_url: str) -> None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cur.fetchone() == (0,)
        cur.execute("CREATE TABLE marker (id int)")


def test_given_fresh_database_then_no_marker_table_from_the_other_test(database_url: str) -> None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.marker') IS NULL, current_setting('server_version_num')::int")
        no_marker, version = cur.fetchone()
        assert no_marker
        assert version >= 150000
