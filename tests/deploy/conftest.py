"""The deployment tests share the S3 server fixtures with tests/s3."""
from ..s3.fixtures import moto_server, s3  # noqa: F401  fixtures, re-exported for this folder
