from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """Test-only plugins, loaded by the tests' settings in the test process and in worker
    subprocesses alike: a processor that takes a given time, to kill or time out jobs
    mid-flight through the engine's public processor registry."""

    name = "tests.testapp"
    label = "imagegen_testapp"

    def ready(self) -> None:
        from imagegen.engine import processors

        from .processors import SlowProcessor

        if "slow" not in processors.processor_names():
            processors.register(SlowProcessor())
