"""The gateway router serves a store's content with the right types and immutable caching."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from helpers import sample_event, sample_tiers

from metadata.cid import file_cid
from metadata.erc721 import EventBundle, build_event_bundle
from metadata.gateway import IMMUTABLE, content_type, make_gateway_router
from metadata.jsipfs import JsIpfsNode
from metadata.store import ContentStore, EmbeddedStore, KuboStore

pytestmark = pytest.mark.ipfs


@pytest.fixture(params=["embedded", "kubo"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContentStore]:
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path_factory.mktemp("gw"))
    else:
        node: JsIpfsNode = request.getfixturevalue("jsipfs_node")
        with KuboStore(node.api_url, timeout_s=1) as kubo:  # short: unknown CIDs wait it out
            yield kubo


@pytest.fixture
def bundle(store: ContentStore) -> EventBundle:
    built = build_event_bundle(sample_event(), sample_tiers())
    assert store.put_directory(built.files) == built.cid
    return built


@pytest.fixture
def client(store: ContentStore) -> TestClient:
    app = FastAPI()
    app.include_router(make_gateway_router(lambda: store))
    return TestClient(app)


def test_serves_metadata_and_images(client: TestClient, bundle: EventBundle) -> None:
    cases = {
        "tiers/0": "application/json",
        "event.json": "application/json",
        "image.png": "image/png",
        "tiers/1.jpg": "image/jpeg",
        "tiers/2.svg": "image/svg+xml",
    }
    for path, media_type in cases.items():
        response = client.get(f"/ipfs/{bundle.cid}/{path}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media_type)
        assert response.content == bundle.files[path]
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["etag"] == f'"/ipfs/{bundle.cid}/{path}"'
    svg = client.get(f"/ipfs/{bundle.cid}/tiers/2.svg")
    assert "sandbox" in svg.headers["content-security-policy"]


def test_serves_a_file_cid_and_its_image(client: TestClient, store: ContentStore) -> None:
    image = sample_event().image
    cid = store.put(image)
    response = client.get(f"/ipfs/{cid}")  # what the JSON's "image" points at
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == image
    same = client.get(f"/ipfs/{cid.encode('base58btc')}")  # any base names the same content
    assert same.content == image


def test_conditional_get_and_head(client: TestClient, bundle: EventBundle) -> None:
    url = f"/ipfs/{bundle.cid}/tiers/0"
    etag = client.get(url).headers["etag"]
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    head = client.head(url)
    assert head.status_code == 200 and head.headers["cache-control"] == IMMUTABLE


def test_directory_listing(client: TestClient, bundle: EventBundle) -> None:
    response = client.get(f"/ipfs/{bundle.cid}/tiers")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'href="/ipfs/{bundle.cid}/tiers/0"' in response.text


def test_unknown_cid_is_404(client: TestClient) -> None:
    response = client.get(f"/ipfs/{file_cid(b'nobody stored this')}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "content_not_found"
    assert response.headers["cache-control"] == "no-store"


def test_unknown_path_is_404(client: TestClient, bundle: EventBundle) -> None:
    assert client.get(f"/ipfs/{bundle.cid}/tiers/42").status_code == 404


@pytest.mark.parametrize(
    "cid", ["not-a-cid", "bafy", "Qm123", "z" * 300], ids=["word", "short", "v0-short", "long"]
)
def test_malformed_cid_is_400(client: TestClient, cid: str) -> None:
    response = client.get(f"/ipfs/{cid}/tiers/0")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cid"


def test_content_type_sniffing() -> None:
    assert content_type("tiers/0", b'{"name":"x"}') == "application/json"
    assert content_type("x", b"{not json") == "application/octet-stream"
    assert content_type("page.html", b"<html><script>") == "application/octet-stream"
    assert content_type("a.JSON", b"") == "application/json"
