"""Cross-checks of aether-sdk messages with the Python reference
implementation (aleph-message and aleph-sdk-python). Run by
sdk/tests/python_compat.rs; not a library.

  aleph_compat.py sign      -> prints messages built and signed by aleph-sdk-python
  aleph_compat.py validate  -> reads messages on stdin, prints one verdict each
"""

import asyncio
import hashlib
import json
import sys

from aleph.sdk.chains.common import get_verification_buffer
from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.chains.ethereum import verify_signature as eth_verify
from aleph.sdk.chains.solana import SOLAccount
from aleph.sdk.chains.solana import verify_signature as sol_verify
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.utils import make_instance_content, make_program_content
from aleph_message.models import (
    AggregateContent,
    ForgetContent,
    MessageType,
    PostContent,
    StoreContent,
    parse_message,
)

SOL_SEED = bytes(range(32))
ETH_KEY = bytes.fromhex("01" * 32)
CODE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
RUNTIME = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def contents(address, now):
    post = PostContent(
        address=address,
        time=now,
        type="chat",
        content={"body": "héllo 😀 wörld", "n": 1.5, "big": 10**16, "tags": ["a", "b"]},
    )
    amend = PostContent(address=address, time=now, type="amend", ref=CODE, content={"body": "fixed"})
    aggregate = AggregateContent(address=address, time=now, key="profile", content={"name": "Ada", "age": 36})
    store = StoreContent(
        address=address,
        time=now,
        item_type="storage",
        item_hash=CODE,
        size=1234,
        content_type="text/html",
        ref="site",
        tags=["web"],
        metadata={"k": [1, 2]},
        payment={"chain": "SOL", "type": "hold"},
    )
    program = make_program_content(
        program_ref=CODE,
        entrypoint="main:app",
        runtime=RUNTIME,
        address=address,
        vcpus=2,
        memory=512,
        timeout_seconds=30,
        internet=True,
        persistent=False,
        volumes=[{"ref": CODE, "mount": "/data"}, {"size_mib": 10, "mount": "/tmp2"},
                 {"name": "db", "mount": "/db", "size_mib": 100, "persistence": "host"}],
        environment_variables={"Z": "1", "A": "2"},
        metadata={"name": "fn"},
    )
    instance = make_instance_content(
        rootfs=CODE,
        rootfs_size=20_000,
        address=address,
        ssh_keys=["ssh-ed25519 AAAA test"],
        metadata={"name": "vm"},
    )
    forget = ForgetContent(address=address, time=now, hashes=[CODE], reason="gone")
    # make_*_content stamp the current time; a fixed one keeps every message
    # the same from run to run, whatever the clock says.
    program.time = now
    instance.time = now
    return [
        (MessageType.post, post.model_dump(exclude_none=True)),
        (MessageType.post, amend.model_dump(exclude_none=True)),
        (MessageType.aggregate, aggregate.model_dump(exclude_none=True)),
        (MessageType.store, store.model_dump(exclude_none=True)),
        (MessageType.program, program.model_dump(exclude_none=True)),
        (MessageType.instance, instance.model_dump(exclude_none=True)),
        (MessageType.forget, forget.model_dump(exclude_none=True)),
    ]


async def sign():
    out = []
    for account in (SOLAccount(SOL_SEED), ETHAccount(ETH_KEY)):
        client = AuthenticatedAlephHttpClient(account=account, api_server="http://127.0.0.1:9")
        for message_type, content in contents(account.get_address(), 1795646074.332815):
            message = await client.generate_signed_message(message_type, content, channel="TEST")
            wire = {k: getattr(message, k) for k in ("chain", "sender", "type", "channel", "signature", "item_type", "item_content", "item_hash")}
            wire = json.loads(json.dumps(wire, default=str))
            wire["time"] = message.time.timestamp()
            out.append(wire)
        await client.close() if hasattr(client, "close") else None
    print(json.dumps(out))


def validate():
    verdicts = []
    for raw in json.load(sys.stdin):
        try:
            message = dict(raw)
            message["content"] = json.loads(message["item_content"])
            parsed = parse_message(message)
            if hashlib.sha256(message["item_content"].encode()).hexdigest() != parsed.item_hash:
                raise ValueError("hash")
            buffer = get_verification_buffer(message)
            if message["chain"] == "SOL":
                sig = json.loads(message["signature"])
                if sig["publicKey"] != message["sender"]:
                    raise ValueError("publicKey is not the sender")
                sol_verify(sig["signature"], sig["publicKey"], buffer)
            else:
                eth_verify(message["signature"], message["sender"], buffer)
            verdicts.append("ok")
        except Exception as e:  # noqa: BLE001 - any refusal is a verdict
            verdicts.append(f"refused: {type(e).__name__}: {e}"[:300])
    print(json.dumps(verdicts))


if __name__ == "__main__":
    if sys.argv[1:] == ["sign"]:
        asyncio.run(sign())
    elif sys.argv[1:] == ["validate"]:
        validate()
    else:
        sys.exit(__doc__)
