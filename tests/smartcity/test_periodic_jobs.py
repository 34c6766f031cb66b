"""Every periodic job is also a management command (STYLE.md rule 14), so cron can run it when Celery beat is
down: the beat schedule's tasks and the commands call the same function."""
import pytest
from django.conf import settings
from django.core.management import call_command, get_commands

# Each task of the beat schedule -> the command that does the same work.
COMMANDS = {
    "smartcity.tasks.publish_outbox": "publish_outbox",
    "smartcity.tasks.purge_outbox": "purge_outbox",
    "matching.tasks.start_matching_run": "run_matching",
    "participation.tasks.erase_expired_personal_data": "erase_expired_personal_data",
    "participation.tasks.delete_stale_pending_photos": "delete_stale_pending_photos",
    "participation.tasks.dump_open_data": "dump_open_data",
    "insight.tasks.refresh_insight": "refresh_insight",
    "insight.tasks.rebuild_insight": "rebuild_insight",
}


def test_every_task_of_the_beat_schedule_has_a_management_command():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(COMMANDS), f"no command for {scheduled - set(COMMANDS)}"
    assert set(COMMANDS.values()) <= set(get_commands())


@pytest.mark.django_db
@pytest.mark.parametrize("command", sorted(set(COMMANDS.values()) - {"rebuild_insight"}))
def test_each_command_runs_on_an_empty_database(command, tmp_path, settings, capsys):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {**settings.STORAGES, "open_data": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "open-data"}}}
    call_command(command, verbosity=0)
    assert capsys.readouterr().out.strip()


@pytest.mark.django_db
def test_the_outbox_commands_do_what_the_sweep_does(django_capture_on_commit_callbacks, settings):
    from datetime import timedelta

    from django.utils import timezone

    from smartcity.models import OutboxMessage

    message = OutboxMessage.objects.create(task="smartcity.tasks.send_email", attempts=1,
                                           kwargs={"to": ["a@example.org"], "subject": "s", "body": "b"})
    call_command("publish_outbox", verbosity=0)
    message.refresh_from_db()
    assert message.sent_at is not None
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(days=30))
    call_command("purge_outbox", verbosity=0)
    assert not OutboxMessage.objects.exists()
