from cronlite.expression import Cron, CronError
from cronlite.schedule import Job, Scheduler

__all__ = ["Cron", "CronError", "Job", "Scheduler"]
