"""RQ jobs: the slow work done away from the webhooks, on the queues of `workers.queues`."""
from .calls import record_call
from .dispatch import bridge_offer
from .queues import QUEUES, SERIALIZER

__all__ = ["QUEUES", "SERIALIZER", "bridge_offer", "record_call"]
