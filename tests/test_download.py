"""lib.genomes.download against a real local HTTP server (127.0.0.1, random port).

The server serves a small bgzipped VCF made here with pysam, its tabix index and a panel,
under the exact 1000 Genomes file names, and supports ``Range`` requests. Modes let it
ignore ``Range``, drop the connection part-way through a file, or answer 404; every request's
method, path and headers are recorded so the tests can see what the client asked for.
"""
from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from pathlib import Path

import pysam
import pytest

from lib.genomes import download as dl

# eight people: enough for the data chapter's four splits (train needs two, the others one each)
PANEL_TEXT = (
    "sample\tpop\tsuper_pop\tgender\t\t\n"
    "HG00096\tGBR\tEUR\tmale\t\t\n"
    "HG00097\tGBR\tEUR\tfemale\t\t\n"
    "HG00099\tGBR\tEUR\tfemale\t\t\n"
    "NA18486\tYRI\tAFR\tmale\t\t\n"
    "NA18488\tYRI\tAFR\tfemale\t\t\n"
    "NA18939\tJPT\tEAS\tfemale\t\t\n"
    "NA18940\tJPT\tEAS\tmale\t\t\n"
    "NA18941\tJPT\tEAS\tfemale\t\t\n"
)
SAMPLES = ["HG00096", "HG00097", "HG00099", "NA18486", "NA18488", "NA18939", "NA18940", "NA18941"]


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (name -> bytes) with Range support and test modes."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _body(self):
        name = self.path.lstrip("/").split("?")[0]
        self.server.requests.append((self.command, name, dict(self.headers)))
        if self.server.mode == "404" or name not in self.server.files:
            self.send_error(404)
            return None
        return self.server.files[name]

    def do_HEAD(self):
        data = self._body()
        if data is None:
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self):
        data = self._body()
        if data is None:
            return
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and self.server.mode != "ignore_range":
            first = rng.removeprefix("bytes=").split("-")[0]
            start = int(first)
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        drop = self.server.drop_after
        if drop is not None and self.server.drops_left > 0 and len(body) > drop:
            self.server.drops_left -= 1
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # the client sees a short body
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def vcf_files(tmp_path_factory):
    """A small real bgzipped, tabix-indexed VCF under the 1000G name; the panel."""
    tmp = tmp_path_factory.mktemp("src")
    lines = ["##fileformat=VCFv4.1", "##contig=<ID=22,length=51304566>",
             '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES)]
    for i in range(3000):  # enough for a few BGZF blocks' worth of bytes
        gts = "\t".join(("0|1", "1|1", "0|0", "1|0")[(i + j) % 4] for j in range(len(SAMPLES)))
        lines.append(f"22\t{16050000 + 17 * i}\trs{i}\tA\tG\t100\tPASS\tAC={i % 7}\tGT\t{gts}")
    plain = tmp / "chr22.vcf"
    plain.write_text("\n".join(lines) + "\n")
    vcf = tmp / dl.VCF_NAME
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    return {dl.VCF_NAME: vcf.read_bytes(), dl.TBI_NAME: Path(str(vcf) + ".tbi").read_bytes(),
            dl.PANEL_NAME: PANEL_TEXT.encode()}


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch):
    """A proxy configured in the environment must not see requests to the local server."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def server(vcf_files):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.files = dict(vcf_files)
    srv.mode = None
    srv.drop_after = None
    srv.drops_left = 0
    srv.requests = []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def gets(srv, name=dl.VCF_NAME):
    return [h for (m, n, h) in srv.requests if m == "GET" and n == name]


FAST = dict(progress=False, retries=0, retry_wait=0, timeout=5)


def test_full_download_checks_size_and_writes_provenance(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    dest = dl.download(server.url + dl.VCF_NAME, tmp_path / dl.VCF_NAME,
                       expected_size=len(data), chunk_size=4096, **FAST)
    assert dest.read_bytes() == data
    assert not (tmp_path / (dl.VCF_NAME + ".part")).exists()
    meta = json.loads((tmp_path / (dl.VCF_NAME + ".download.json")).read_text())
    assert meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["md5"] == hashlib.md5(data).hexdigest()
    assert meta["url"] == server.url + dl.VCF_NAME


def test_expected_size_mismatch_is_rejected(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    with pytest.raises(dl.IntegrityError, match="size mismatch") as err:
        dl.download(server.url + dl.VCF_NAME, tmp_path / "x.vcf.gz",
                    expected_size=len(data) + 1, **FAST)
    assert server.url + dl.VCF_NAME in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_resume_after_interrupted_transfer(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    server.drop_after, server.drops_left = len(data) // 3, 1
    dest = tmp_path / dl.VCF_NAME
    url = server.url + dl.VCF_NAME
    with pytest.raises(dl.DownloadError, match="interrupted") as err:
        dl.download(url, dest, chunk_size=1024, **FAST)
    assert "resume" in str(err.value) and url in str(err.value)
    part = tmp_path / (dl.VCF_NAME + ".part")
    assert not dest.exists() and 0 < part.stat().st_size < len(data)
    have = part.stat().st_size
    dl.download(url, dest, chunk_size=1024, **FAST)
    assert dest.read_bytes() == data
    assert not part.exists()
    second = gets(server)[-1]
    assert second.get("Range") == f"bytes={have}-"


def test_resume_within_one_call_with_retries(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    server.drop_after, server.drops_left = 1000, 2
    dest = dl.download(server.url + dl.VCF_NAME, tmp_path / dl.VCF_NAME, progress=False,
                       retries=3, retry_wait=0, chunk_size=512)
    assert dest.read_bytes() == data
    assert [h.get("Range") is not None for h in gets(server)] == [False, True, True]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    part = tmp_path / (dl.VCF_NAME + ".part")
    part.write_bytes(b"garbage that is not the start of the file")
    server.mode = "ignore_range"
    dest = dl.download(server.url + dl.VCF_NAME, tmp_path / dl.VCF_NAME, **FAST)
    assert gets(server)[0].get("Range") == f"bytes={len(b'garbage that is not the start of the file')}-"
    assert dest.read_bytes() == data
    assert not part.exists()


def test_part_longer_than_file_gets_416_and_restarts(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    part = tmp_path / (dl.VCF_NAME + ".part")
    part.write_bytes(b"x" * (len(data) + 10))
    dest = dl.download(server.url + dl.VCF_NAME, tmp_path / dl.VCF_NAME, **FAST)
    assert dest.read_bytes() == data
    assert [h.get("Range") for h in gets(server)] == [f"bytes={len(data) + 10}-", None]


def test_complete_part_gets_416_and_is_kept(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    (tmp_path / (dl.VCF_NAME + ".part")).write_bytes(data)
    dest = dl.download(server.url + dl.VCF_NAME, tmp_path / dl.VCF_NAME, **FAST)
    assert dest.read_bytes() == data
    assert len(gets(server)) == 1


def test_md5_mismatch_raises_and_leaves_no_file(server, tmp_path):
    dest = tmp_path / dl.VCF_NAME
    url = server.url + dl.VCF_NAME
    with pytest.raises(dl.IntegrityError) as err:
        dl.download(url, dest, expected_md5="0" * 32, **FAST)
    msg = str(err.value)
    assert "MD5 mismatch" in msg and url in msg and str(dest) in msg
    assert "0" * 32 in msg and hashlib.md5(server.files[dl.VCF_NAME]).hexdigest() in msg
    assert list(tmp_path.iterdir()) == []


def test_md5_match_is_accepted(server, tmp_path):
    data = server.files[dl.VCF_NAME]
    md5 = hashlib.md5(data).hexdigest()
    dest = dl.download(server.url + dl.VCF_NAME, tmp_path / "f", expected_md5=md5.upper(), **FAST)
    assert dest.read_bytes() == data
    n = len(server.requests)
    dl.download(server.url + dl.VCF_NAME, tmp_path / "f", expected_md5=md5, **FAST)
    assert len(server.requests) == n


def test_404_names_the_url(server, tmp_path):
    url = server.url + "no/such/file.vcf.gz"
    with pytest.raises(dl.DownloadError, match="404") as err:
        dl.download(url, tmp_path / "file.vcf.gz", **FAST)
    assert url in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_a_clear_error(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    url = f"http://127.0.0.1:{port}/x.vcf.gz"
    with pytest.raises(dl.DownloadError, match="could not connect") as err:
        dl.download(url, tmp_path / "x.vcf.gz", **FAST)
    assert url in str(err.value)


def test_timeout_is_a_clear_error(tmp_path):
    sock = socket.socket()  # accepts connections (backlog) but never answers
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/x.vcf.gz"
        with pytest.raises(dl.DownloadError, match="timed out") as err:
            dl.download(url, tmp_path / "x.vcf.gz", progress=False, retries=0, timeout=0.3)
        assert url in str(err.value)
    finally:
        sock.close()


def test_complete_file_is_not_downloaded_again(server, tmp_path):
    url = server.url + dl.VCF_NAME
    dest = tmp_path / dl.VCF_NAME
    dl.download(url, dest, **FAST)
    assert len(server.requests) == 1
    mtime = dest.stat().st_mtime_ns
    dl.download(url, dest, **FAST)  # the sidecar vouches for it: no request at all
    assert len(server.requests) == 1
    (tmp_path / (dl.VCF_NAME + ".download.json")).unlink()
    dl.download(url, dest, **FAST)  # no sidecar: one HEAD, no GET
    assert [m for m, _, _ in server.requests] == ["GET", "HEAD"]
    assert dest.stat().st_mtime_ns == mtime


def test_existing_file_of_wrong_size_is_replaced(server, tmp_path):
    dest = tmp_path / dl.VCF_NAME
    dest.write_bytes(b"stale")
    with pytest.warns(UserWarning, match="again"):
        dl.download(server.url + dl.VCF_NAME, dest, **FAST)
    assert dest.read_bytes() == server.files[dl.VCF_NAME]
    assert [m for m, _, _ in server.requests] == ["HEAD", "GET"]


def test_fetch_1000g_chr22_end_to_end(server, tmp_path):
    out = dl.fetch_1000g_chr22(tmp_path / "sources", base_url=server.url, progress=False,
                               retry_wait=0)
    assert set(out) == {"vcf", "tbi", "panel", "populations"}
    for key, name in (("vcf", dl.VCF_NAME), ("tbi", dl.TBI_NAME), ("panel", dl.PANEL_NAME)):
        assert out[key] == tmp_path / "sources" / name
        assert out[key].read_bytes() == server.files[name]
    assert out["populations"] == tmp_path / "sources" / "1000g_samples.tsv"
    assert out["populations"].read_text() == (
        "sample\tpopulation\tsuperpopulation\n"
        "HG00096\tGBR\tEUR\nHG00097\tGBR\tEUR\nHG00099\tGBR\tEUR\nNA18486\tYRI\tAFR\n"
        "NA18488\tYRI\tAFR\nNA18939\tJPT\tEAS\nNA18940\tJPT\tEAS\nNA18941\tJPT\tEAS\n")
    with pysam.VariantFile(str(out["vcf"])) as vf:  # the index works with the data
        assert list(vf.header.samples) == SAMPLES
        assert len(list(vf.fetch("22", 16050000, 16050100))) == 5  # POS 16050017..16050085
    n = len(server.requests)
    dl.fetch_1000g_chr22(tmp_path / "sources", base_url=server.url, progress=False)
    assert len(server.requests) == n  # second run: nothing fetched


def test_base_url_from_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv(dl.BASE_URL_ENV, server.url.rstrip("/"))
    assert dl.resolve_base_url() == server.url
    out = dl.fetch_1000g_chr22(tmp_path, progress=False)
    assert out["vcf"].read_bytes() == server.files[dl.VCF_NAME]
    monkeypatch.delenv(dl.BASE_URL_ENV)
    assert dl.resolve_base_url() == dl.BASE_URL


def test_truncated_vcf_is_rejected(server, tmp_path):
    server.files[dl.VCF_NAME] = server.files[dl.VCF_NAME][:-28]  # lost its BGZF EOF block
    with pytest.raises(dl.IntegrityError, match="BGZF EOF"):
        dl.fetch_1000g_chr22(tmp_path, base_url=server.url, progress=False)
    assert not (tmp_path / dl.VCF_NAME).exists()
    assert not (tmp_path / (dl.VCF_NAME + ".download.json")).exists()


def test_wrong_panel_header_is_rejected(server, tmp_path):
    server.files[dl.PANEL_NAME] = b"id\tpopulation\nHG00096\tGBR\n"
    with pytest.raises(dl.IntegrityError, match="sample pop super_pop gender"):
        dl.fetch_1000g_chr22(tmp_path, base_url=server.url, progress=False)
    assert not (tmp_path / "1000g_samples.tsv").exists()


def test_cli_reports_errors_without_traceback(server, tmp_path, capsys):
    server.mode = "404"
    assert dl.main([str(tmp_path), "--base-url", server.url, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: not found (HTTP 404): " + server.url)


def test_data_chapter_source_1000g_through_the_local_server(server, tmp_path, monkeypatch):
    """source="1000g" end to end: download, read with the panel's populations, split, choose
    the panel among the sites that vary among the public people, read its genotypes."""
    from lib import ch01_data
    from lib.core import rundir

    monkeypatch.setenv(dl.BASE_URL_ENV, server.url)
    run = rundir.run_path(tmp_path / "run", "smoke")
    prepared = ch01_data.prepare(run, ch01_data.DataSpec(source="1000g", seed=0, n_sites=40, common_fraction=0.5,
                                                         sources_dir=tmp_path / "sources"), progress=False)
    cohort = prepared.cohort
    assert cohort.contig.assembly == "GRCh37" and cohort.contig.length == 51_304_566
    assert cohort.sample_ids == SAMPLES and cohort.n_sites == 40
    assert cohort.samples["population"].tolist() == ["GBR", "GBR", "GBR", "YRI", "YRI", "JPT", "JPT", "JPT"]
    assert sorted(s for ids in prepared.splits.values() for s in ids) == sorted(SAMPLES)
    assert {k: len(v) for k, v in prepared.splits.items()} == {"train": 5, "validation": 1, "holdout": 1,
                                                               "public": 1}
    assert (tmp_path / "sources" / dl.VCF_NAME).exists()
    # the one public person is heterozygous at every panel site (only those vary among the
    # public people), so every site is common (public MAF 0.5) and the rare half is missing
    public = cohort.sample_ids.index(prepared.splits["public"][0])
    assert (cohort.genotypes[:, public].sum(axis=1) == 1).all()
    assert (prepared.panel["n_common"], prepared.panel["n_rare"], prepared.panel["n_candidates"]) == (40, 0, 1500)
    assert prepared.diagnostics["n_source_sites"] == 3000
    assert prepared.diagnostics["source"] == f"1000g: {dl.VCF_NAME}"
