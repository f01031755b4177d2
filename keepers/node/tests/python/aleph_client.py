"""The Python reference client (aleph-sdk-python) against an Aether core
node: every call it makes must work (posts, amends, aggregates and their
listing, messages, files and an address's files, balances, prices, FORGET). Run by keepers/node/tests/python_client.rs
with the node's URL as the only argument; exits non-zero on any failure."""

import asyncio
import sys

from aleph.sdk.chains.ethereum import ETHAccount
from aleph.sdk.chains.solana import SOLAccount
from aleph.sdk.client import AuthenticatedAlephHttpClient
from aleph.sdk.query.filters import MessageFilter
from aleph_message.status import MessageStatus


async def exercise(account, url):
    async with AuthenticatedAlephHttpClient(account=account, api_server=url) as client:
        post, status = await client.create_post(
            post_content={"hello": "from python", "chain": account.CHAIN},
            post_type="test",
            channel="PYTHON",
            sync=True,
        )
        assert status == MessageStatus.PROCESSED, status
        _, status = await client.create_post(
            post_content={"hello": "amended"}, post_type="amend", ref=post.item_hash, channel="PYTHON", sync=True
        )
        assert status == MessageStatus.PROCESSED, status
        for part in ({"a": 1}, {"b": 2}):
            _, status = await client.create_aggregate(key="profile", content=part, channel="PYTHON", sync=True)
            assert status == MessageStatus.PROCESSED, status

        got = await client.get_message(post.item_hash)
        assert got.item_hash == post.item_hash and got.sender == account.get_address()
        assert await client.fetch_aggregate(account.get_address(), "profile") == {"a": 1, "b": 2}
        posts = await client.get_posts()
        mine = [p for p in posts.posts if p.original_item_hash == post.item_hash]
        assert len(mine) == 1 and mine[0].content == {"hello": "amended"}, posts.posts
        walked = [p.original_item_hash async for p in client.get_posts_iterator()]
        assert walked.count(post.item_hash) == 1, walked
        messages = await client.get_messages()
        assert any(m.item_hash == post.item_hash for m in messages.messages)

        store, status = await client.create_store(file_content=b"hello file " + account.CHAIN.encode(), channel="PYTHON", sync=True)
        assert status == MessageStatus.PROCESSED, status
        assert await client.download_file(store.content.item_hash) == b"hello file " + account.CHAIN.encode()

        mine = MessageFilter(addresses=[account.get_address()])
        walked = [m.item_hash async for m in client.get_messages_iterator(message_filter=mine)]
        assert post.item_hash in walked and len(walked) == len(set(walked)), walked
        page = await client.get_messages_cursor(page_size=1, message_filter=mine)
        assert len(page.messages) == 1 and page.next_cursor, page

        listed = await client.list_aggregates(addresses=[account.get_address()], keys=["profile"])
        assert [a["key"] for a in listed.aggregates] == ["profile"], listed
        assert listed.aggregates[0]["content"] == {"a": 1, "b": 2} and listed.pagination_total == 1, listed
        files = await client.get_account_files(account.get_address())
        assert [f.item_hash for f in files.files] == [store.item_hash], files
        assert files.total_size == len(b"hello file " + account.CHAIN.encode()), files
        balance = await client.get_balances(account.get_address())
        assert balance.address == account.get_address() and balance.balance == 0, balance
        # This node does not charge: everything is priced at 0, held.
        price = await client.get_program_price(store.item_hash)
        assert price.required_tokens == 0 and price.payment_type == "hold", price
        estimate = await client.get_store_estimated_price(storage_size_mib=3)
        assert estimate.required_tokens == 0 and estimate.payment_type == "hold", estimate

        forget, status = await client.forget(hashes=[store.item_hash], reason="test", channel="PYTHON", sync=True)
        assert status == MessageStatus.PROCESSED, status
        print(account.CHAIN, "ok")


async def main(url):
    await exercise(SOLAccount(bytes(range(32))), url)
    await exercise(ETHAccount(bytes.fromhex("02" * 32)), url)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
