import hashlib
import subprocess

from tenken.website import publish


def sample_files(tmp_path):
    files = {}
    for kind, name, data in [("pdf", "report.pdf", b"%PDF-1.7 fake"), ("csv", "annex.csv", "\ufeff番号\n".encode())]:
        path = tmp_path / "out" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        files[kind] = path
    return files


def test_published_files_have_verifiable_checksums_beside_them(tmp_path):
    site = tmp_path / "site"
    result = publish(sample_files(tmp_path), fiscal_year=2020, plan_name="計画", organisation="神奈川県",
                     target=str(site))
    assert (site / "plan" / "2020" / "report.pdf").read_bytes() == b"%PDF-1.7 fake"
    assert result.target == str(site / "plan" / "2020") and result.path == "plan/2020"
    assert result.checksums["report.pdf"] == hashlib.sha256(b"%PDF-1.7 fake").hexdigest()
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=site / "plan" / "2020", capture_output=True, text=True)
    assert check.returncode == 0 and "report.pdf: OK" in check.stdout


def test_the_index_lists_every_published_year_newest_first(tmp_path):
    site = tmp_path / "site"
    for year in (2019, 2020):
        publish(sample_files(tmp_path), fiscal_year=year, plan_name="計画", organisation="神奈川県", target=str(site))
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.index("令和2年度点検報告書") < index.index("令和元年度点検報告書")
    assert 'href="plan/2020/report.pdf"' in index and 'lang="ja"' in index
    own = (site / "plan" / "index.html").read_text(encoding="utf-8")
    assert own.index("令和2年度点検報告書") < own.index("令和元年度点検報告書")
    assert 'href="../plan/2020/report.pdf"' in own and 'href="../"' in own


def test_any_fsspec_url_is_a_publication_target(tmp_path):
    result = publish(sample_files(tmp_path), fiscal_year=2020, plan_name="計画", organisation="県",
                     target="memory://tenken-site")
    import fsspec

    fs = fsspec.filesystem("memory")
    assert fs.cat_file("/tenken-site/plan/2020/annex.csv").startswith("\ufeff番号".encode())
    assert result.index.endswith("/tenken-site/index.html")
    assert result.plan_index.endswith("/tenken-site/plan/index.html")


def test_html_in_names_is_escaped_on_the_index(tmp_path):
    site = tmp_path / "site"
    publish(sample_files(tmp_path), fiscal_year=2020, plan_name="<script>x</script>", organisation="県",
            target=str(site))
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "<script>x" not in index and "&lt;script&gt;" in index
    own = (site / "plan" / "index.html").read_text(encoding="utf-8")
    assert "<script>x" not in own and "&lt;script&gt;" in own
