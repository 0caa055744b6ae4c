import pytest

from runbooks import services

BODY = """# Bring up the contribution encoder

## Encoder
- [ ] Power on the encoder and confirm the program input is locked
- [ ] Set SRT latency to `600` ms (4x RTT)

## Path
- [ ] Confirm the stream id `kn1-contrib-a` and passphrase
- [ ] Check packets lost stays at 0 for 60 s
"""


@pytest.fixture
def runbook(lead):
    return services.create_runbook(
        title="Contribution encoder bring-up",
        slug="contrib-bringup",
        stage="contribution",
        body=BODY,
        author=lead,
        owner=lead,
        applies_to={"feed_kinds": ["program"], "sites": ["venue"]},
        review_days=90,
    )
