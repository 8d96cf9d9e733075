"""RQ jobs: the slow work done away from the webhooks."""
from .calls import QUEUE_NAME, record_call

__all__ = ["QUEUE_NAME", "record_call"]
