"""Peak resident memory and CPU time of processes (each with its children), sampled in a thread."""

from __future__ import annotations

import contextlib
import threading

import psutil


class MemorySampler(threading.Thread):
    """Samples every watched process and its children every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = 0.1) -> None:
        """Watch nothing yet; :meth:`watch` adds processes, :meth:`start` starts sampling."""
        super().__init__(daemon=True)
        self.interval = interval
        self.watched: dict[str, psutil.Process] = {}
        self.peaks: dict[str, int] = {}  # bytes
        self.cpu: dict[str, float] = {}  # seconds, user + system
        self._halt = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        """Sample process ``pid`` (and its children) under ``name``."""
        with contextlib.suppress(psutil.Error):
            self.watched[name] = psutil.Process(pid)
            self.peaks.setdefault(name, 0)
            self._sample(name, self.watched[name])

    def _sample(self, name: str, proc: psutil.Process) -> None:
        total, cpu = 0, 0.0
        try:
            with proc.oneshot():
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu += times.user + times.system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
                    times = child.cpu_times()
                    cpu += times.user + times.system
        except psutil.Error:
            return
        self.peaks[name] = max(self.peaks[name], total)
        self.cpu[name] = max(self.cpu.get(name, 0.0), cpu)

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self._halt.wait(self.interval):
            for name, proc in list(self.watched.items()):
                self._sample(name, proc)

    def stop(self) -> None:
        """Stop sampling (the peaks stay readable)."""
        self._halt.set()
        if self.is_alive():
            self.join(2)
