"""RQ jobs: the slow work done away from the webhooks, on the queues of `workers.queues`."""
from .alerts import alert, send_portal_link
from .callbacks import call_customer, customer_did_not_answer
from .calls import record_call
from .dispatch import bridge_offer
from .queues import QUEUES, SERIALIZER

__all__ = ["QUEUES", "SERIALIZER", "alert", "bridge_offer", "call_customer", "customer_did_not_answer", "record_call",
           "send_portal_link"]
