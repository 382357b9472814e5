from jobqueue.job import Job, JobState
from jobqueue.queue import JobQueue
from jobqueue.worker import Worker

__all__ = ["Job", "JobQueue", "JobState", "Worker"]
