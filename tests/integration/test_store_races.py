"""Loads and presence changes racing each other leave the shift sets right (issue 6, item 13)."""
from __future__ import annotations

import threading

from ivr.adapters.directory.document import load_document
from ivr.adapters.directory.store import Store, connect
from routing.dispatch import queues_served

REGIONS = ("emea",)


def _engineer(languages: list[str]) -> dict:
    return {"engineers": [{"id": "anna", "name": "Anna", "languages": languages, "regions": ["emea"],
                           "client": "anna"}]}


def test_concurrent_loads_and_presence_changes_keep_each_engineer_in_exactly_the_right_shift_sets(redis_url):
    client = connect(redis_url, timeout=10)
    store = Store(client)
    assert load_document(store, _engineer(["de", "en"]), REGIONS).ok
    stop = threading.Event()

    def loads():
        loader = Store(connect(redis_url, timeout=10))
        for i in range(400):
            load_document(loader, _engineer(["de", "en"] if i % 2 else ["fr", "ru"]), REGIONS)
        stop.set()
        loader.redis.close()

    def presence():
        other = Store(connect(redis_url, timeout=10))
        i = 0
        while not stop.is_set():
            other.set_presence("anna", "available" if i % 2 else "offline")
            i += 1
        other.redis.close()

    threads = [threading.Thread(target=loads), threading.Thread(target=presence)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    engineer = store.engineer("anna")
    on_shift = store.presence("anna") in ("available", "busy")
    for language in ("de", "en", "fr", "ru"):
        queue = f"emea-{language}"
        expected = on_shift and queue in queues_served(engineer)
        assert ("anna" in store.on_shift(queue)) == expected, (queue, store.presence("anna"))
    client.close()
