"""RQ jobs: the slow work done away from the webhooks."""
from .calls import QUEUE_NAME, record_call
from .dispatch import bridge_offer

__all__ = ["QUEUE_NAME", "bridge_offer", "record_call"]
