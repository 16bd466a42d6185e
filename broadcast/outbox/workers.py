"""The registry of dispatcher processes: heartbeats, dead ones found (stale or
killed on this host) and their in-flight deliveries freed; one only on SQLite."""

from __future__ import annotations

import os
import socket

from sqlalchemy import delete, func, insert, select, update

from broadcast.model import DeliveryState, DispatcherBusy
from broadcast.outbox.base import Store
from broadcast.tables import DeliveryRow, WorkerRow

S = DeliveryState


class WorkerRegistry(Store):
    def register_worker(self, worker: str, stale_after: float) -> list[str]:
        """Announce a dispatcher; on SQLite only one may run at a time. Dispatchers
        that stopped beating, or whose process on this host is gone (killed), are
        removed and their in-flight deliveries made claimable at once."""
        now = self.clock()
        host = socket.gethostname()
        with self.engine.begin() as conn:
            dead = [w.id for w in conn.execute(select(WorkerRow))
                    if w.heartbeat_at < now - stale_after
                    or (w.host == host and not _pid_alive(w.pid))]
            if dead:
                conn.execute(delete(WorkerRow).where(WorkerRow.id.in_(dead)))
                conn.execute(update(DeliveryRow)
                             .where(DeliveryRow.claimed_by.in_(dead),
                                    DeliveryRow.state == S.SENDING.value)
                             .values(lease_until=0.0))
            if not self.shared:
                alive = conn.execute(select(WorkerRow.id, WorkerRow.pid)).first()
                if alive is not None:
                    raise DispatcherBusy(
                        f"另一个发送进程（{alive.id}，pid {alive.pid}）正在运行；"
                        "SQLite 只支持一个发送进程，多进程请使用 PostgreSQL")
            conn.execute(insert(WorkerRow).values(id=worker, host=host, pid=os.getpid(),
                                                  started_at=now, heartbeat_at=now))
        return dead

    def unregister_worker(self, worker: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(WorkerRow).where(WorkerRow.id == worker))

    def live_workers(self, stale_after: float) -> int:
        with self.session() as session:
            return int(session.execute(select(func.count()).select_from(WorkerRow).where(
                WorkerRow.heartbeat_at >= self.clock() - stale_after)).scalar() or 0)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
