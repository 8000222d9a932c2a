"""`meltano config test`: the whole load rehearsed in one transaction that is rolled back.

Meltano tests a loader by sending one record on the stream `meltano_test_stream` and expects the test to leave
a table behind. Here every statement of a real run executes — schema, `sync_logs`, table creation, the COPY,
the log row — so missing privileges, TLS or ownership problems show, and then nothing is kept.
"""

from __future__ import annotations

from psycopg2.extensions import connection as Connection  # noqa: N812
from typing_extensions import override

from target_supabase_hybrid.batch import PendingBatch
from target_supabase_hybrid.sinks import HybridSink

MELTANO_TEST_STREAM = "meltano_test_stream"


class RehearsalSink(HybridSink):
    """A `HybridSink` whose one transaction (set-up and load together) is always rolled back."""

    @override
    def setup(self) -> None:
        """Nothing yet: the set-up runs inside the rehearsal transaction."""

    @override
    def start_batch(self, context: dict) -> None:
        context["pending"] = PendingBatch(eager=False)  # buffered: nothing streams before the rehearsal

    @override
    def process_batch(self, context: dict) -> None:
        batch: PendingBatch | None = context.get("pending")
        if batch is None or not batch.received:
            return

        def rehearse(conn: Connection) -> None:
            try:
                self._prepare(conn)
                self._load(conn, batch, finishing=True)
            finally:
                conn.rollback()
                self.sync_log.opened = False  # its row was rolled back too

        self._guarded(lambda: rehearse(self._connection()), received=batch.received)
        self.logger.info(
            "Stream %s: loading %d record(s) into %s rehearsed and rolled back (meltano config test);"
            " nothing was written",
            self.stream_name,
            batch.received,
            self.mapping.table,
        )

    @override
    def activate_version(self, new_version: int) -> None:
        """Nothing to retire: the rehearsal keeps no rows."""

    @override
    def finish(self, status: str = "success") -> None:
        """No row was kept, so there is none to finish."""
