"""The Celery application. Queues: `orders` (BUY/SELL) and `stoploss` (exits, own worker)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "algotrader.settings")

app = Celery("algotrader")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# One log line per task, carrying the request id of the HTTP request that enqueued it.
import logging  # noqa: E402
import time  # noqa: E402

from celery import signals  # noqa: E402

task_logger = logging.getLogger("algotrader.task")
_task_started: dict[str, float] = {}


@signals.before_task_publish.connect
def _attach_request_id(headers: dict, **_: object) -> None:
    from algotrader.logging import request_id_var

    headers.setdefault("request_id", request_id_var.get())


@signals.task_prerun.connect
def _task_started_at(task_id: str, task, **_: object) -> None:
    from algotrader.logging import new_request_id, request_id_var

    request_id_var.set(getattr(task.request, "request_id", None) or new_request_id())
    _task_started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task_id: str, task, state: str | None = None, **_: object) -> None:
    started = _task_started.pop(task_id, None)
    task_logger.info(
        "task %s %s",
        task.name,
        state,
        extra={
            "task": task.name,
            "task_id": task_id,
            "state": state,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
        },
    )
