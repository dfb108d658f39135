"""The load test (benchmarks/load_test.py) in small, with the same code: three admins upload
twelve photos through the admin's add form of a live server (multipart, CSRF, their own
sessions) while five API readers poll variants, and two real workers render them. Every
variant settles ready, none twice, and no request fails or answers a 5xx."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from benchmarks.load_test import check_variants, wait_settled, wait_workers
from benchmarks.loadkit import Readers, Upload, product_png, run_uploads

from .helpers import make_product, make_styles

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SPECS = ["sketch", "sunset", "vintage"]  # shop/catalogue/imagegen.py, with make_styles()' styles


def test_uploads_from_several_admins_while_readers_poll(live_server, start_worker):
    make_styles()
    products = [make_product("Load") for _ in range(3)]
    User.objects.create_superuser("load-admin", "load@example.com", "pw")
    # One torch thread each: two workers share this machine's cores (see docs/reliability.md).
    workers = [start_worker(OMP_NUM_THREADS="1") for _ in range(2)]
    wait_workers(2, [worker.proc for worker in workers], timeout=60)

    items = [Upload(products[i % 3].pk, f"smoke-{i}.png", product_png(i, (96, 72))) for i in range(12)]
    readers = Readers(live_server.url, 5, interval=0.3).start()
    try:
        run_uploads(live_server.url, "load-admin", "pw", items, clients=3)
        assert [item.error for item in items if item.image_id is None] == []
        image_ids = [item.image_id for item in items]
        wait_settled(image_ids, len(SPECS), timeout=45)
    finally:
        readers.stop()

    figures, problems = check_variants(image_ids, SPECS)
    assert problems == [], (problems, [w.output()[-2000:] for w in workers])
    assert figures["statuses"] == {"ready": 36}
    assert figures["duplicate_keys"] == 0 and figures["max_attempts"] == 1
    assert len(figures["by_worker"]) == 2, figures["by_worker"]  # both workers took jobs
    assert {item.status for item in items} == {302}
    assert readers.samples and readers.errors == []
    assert max(readers.statuses()) < 500, readers.statuses()
    assert readers.latencies("detail"), "readers never saw a variant to poll"
