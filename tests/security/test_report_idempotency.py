"""The report form carries a one-time key: sending it twice, or five times at once, makes one report
(issue #14, "Five identical parallel form posts created five reports"). A unique constraint decides,
not a check followed by an insert."""
from __future__ import annotations

import re
import threading
import uuid

import pytest
from django.test import Client

from participation.models import Report

FORM = {"title": "Kapotte lantaarnpaal", "description": "De lantaarnpaal brandt al een week niet.",
        "latitude": "52.0799", "longitude": "4.3113", "theme": "", "nearby_seen": "on"}


def _key_in(page: str) -> str:
    match = re.search(r'name="submission_key" value="([0-9a-f-]{36})"', page)
    assert match, "the form carries a hidden one-time key"
    return match.group(1)


@pytest.mark.django_db
def test_the_form_carries_a_fresh_key_and_keeps_it_when_shown_again(client):
    first, second = _key_in(client.get("/reports/new/").content.decode()), _key_in(client.get("/reports/new/").content.decode())
    assert first != second
    again = client.post("/reports/new/", {**FORM, "title": "", "submission_key": first})
    assert again.status_code == 200 and _key_in(again.content.decode()) == first


@pytest.mark.django_db
def test_sending_the_form_twice_makes_one_report_and_the_second_answer_shows_it(client):
    key = _key_in(client.get("/reports/new/").content.decode())
    first = client.post("/reports/new/", {**FORM, "submission_key": key})
    second = client.post("/reports/new/", {**FORM, "submission_key": key})
    assert first.status_code == second.status_code == 302
    report = Report.objects.get()
    assert first.url == second.url == report.get_absolute_url()


@pytest.mark.django_db
def test_other_words_typed_into_a_form_already_sent_make_another_report(client):
    """The browser's Back button brings the sent form back, key and all; a resident who changes it means it."""
    key = _key_in(client.get("/reports/new/").content.decode())
    first = client.post("/reports/new/", {**FORM, "submission_key": key})
    second = client.post("/reports/new/", {**FORM, "title": "Nog een kapotte lantaarnpaal", "submission_key": key})
    again = client.post("/reports/new/", {**FORM, "title": "Nog een kapotte lantaarnpaal", "submission_key": key})
    assert Report.objects.count() == 2
    assert first.url != second.url == again.url


@pytest.mark.django_db
def test_a_repeated_form_does_not_count_against_the_rate_limit(client, settings):
    settings.ANONYMOUS_REPORTS_PER_HOUR = 1
    key = str(uuid.uuid4())
    codes = [client.post("/reports/new/", {**FORM, "submission_key": key}).status_code for _ in range(3)]
    assert codes == [302, 302, 302] and Report.objects.count() == 1


@pytest.mark.django_db
def test_a_key_that_is_no_uuid_is_ignored_not_a_500(client):
    """Only a broken or hostile client sends one; a resident cannot correct a hidden field."""
    response = client.post("/reports/new/", {**FORM, "submission_key": "'; DROP TABLE x"})
    assert response.status_code == 302 and Report.objects.get().submission_key is None


@pytest.mark.services
def test_five_parallel_posts_of_one_form_make_one_report(needs_postgres, transactional_db, monkeypatch):
    """Five threads, each with its own connection, all pass every check and meet right before the INSERT;
    then they insert at once and the unique index lets one through. The other four answer with a
    redirect to that report."""
    from participation import services

    key = str(uuid.uuid4())
    at_the_insert = threading.Barrier(5, timeout=5)
    for_point = services.Area.objects.for_point

    def meet_before_inserting(latitude, longitude):
        try:
            at_the_insert.wait()
        except threading.BrokenBarrierError:  # fewer threads got here: the test still judges the outcome
            pass
        return for_point(latitude, longitude)

    monkeypatch.setattr(services.Area.objects, "for_point", meet_before_inserting)
    answers: list[object] = []

    def post() -> None:
        from django.db import connection

        try:
            answers.append(Client().post("/reports/new/", {**FORM, "submission_key": key}))
        except Exception as error:  # noqa: BLE001  (the assertion below shows it)
            answers.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert Report.objects.count() == 1
    report = Report.objects.get()
    assert [getattr(answer, "status_code", answer) for answer in answers] == [302] * 5
    assert {answer.url for answer in answers} == {report.get_absolute_url()}
