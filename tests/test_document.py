"""Trace documents (.ggtrace: graphgrad.viz.save / Trace.save / viz.load) and the saved view every widget
output carries for graphgrad's JupyterLab extension (application/vnd.graphgrad.graph+json): round trips,
size bounds, files that are not traces, and a saved tour notebook under 1 MB."""
import json
import pathlib
import zipfile

import numpy as np
import pytest

import graphgrad as gg
from graphgrad import nn, viz
from graphgrad.viz import document, snapshot
from graphgrad.viz.protocol import STATS
from graphgrad.viz.tensors import to_numpy

ROOT = pathlib.Path(__file__).parent.parent
FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "small.ggtrace"   # read by src/test/ggtrace.test.ts too


def traced():
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = gg.randn(16, 4), gg.randint(0, 3, (16,))
    with gg.trace(model) as t:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
    return t, loss


def test_trace_round_trip_keeps_graph_statistics_and_values(tmp_path):
    t, _ = traced()
    path = t.save(tmp_path / "run.ggtrace", title="an MLP")
    doc = viz.load(path)
    graph = t.graph.to_json()
    assert doc.graph == graph and doc.title == "an MLP"
    source = viz.show(t).source
    checked = 0
    for (node, what), values in doc.values.items():
        tensor, _ = source.tensor(node, what)
        expected = to_numpy(tensor)
        np.testing.assert_array_equal(values, expected)
        assert values.dtype == expected.dtype
        stats = doc.stats[node, what]["stats"]
        assert stats["numel"] == expected.size
        assert stats["max"] == pytest.approx(float(expected.max())) and stats["mean"] == pytest.approx(float(expected.astype(np.float64).mean()))
        assert doc.stats[node, what]["hist"].sum() == expected.size
        checked += 1
    assert checked >= 10 and any(what == "grad" for _, what in doc.values)
    # shown again in a kernel, the inspector reads the stored values
    node, what = next(iter(doc.values))
    shown = viz.show(viz.load(path))
    np.testing.assert_array_equal(to_numpy(shown.tensor(node, what)[0]), doc.values[node, what])
    assert shown.graph == graph


def test_chosen_values_and_the_size_bound(tmp_path):
    t, _ = traced()
    ids = [n["id"] for n in t.graph.to_json()["nodes"] if n["kind"] == "param"][:2]
    doc = viz.load(viz.save(t, tmp_path / "some.ggtrace", tensors=ids))
    assert {node for node, _ in doc.values} == set(ids)
    assert len(doc.stats) > len(doc.values)            # statistics for every node either way
    none = viz.load(viz.save(t, tmp_path / "none.ggtrace", max_bytes=0))
    assert none.values == {} and len(none.stats) == len(doc.stats)
    assert any("max_bytes" in note for note in none.notes)
    node, what = next(iter(none.stats))
    assert none.tensor(node, what) == (None, "its values were not stored in the file")


def curve(curves, metric):
    """The curve of a metric: a chart of its own (its series named by run) or a series named after it."""
    (found,) = [c for c in curves if metric in (c["name"], c["chart"])]
    return found


def test_monitor_curves_round_trip_and_the_file_is_json_and_raw_arrays(tmp_path):
    mon = viz.monitor(display=False)
    for i in range(50):
        mon.log(loss=1.0 / (i + 1), acc=i / 50)
    path = viz.save(mon, tmp_path / "curves.ggtrace")
    doc = viz.load(path)
    np.testing.assert_allclose(curve(doc.curves, "loss")["values"], [1.0 / (i + 1) for i in range(50)])
    np.testing.assert_array_equal(curve(doc.curves, "acc")["steps"], np.arange(50.0))
    with zipfile.ZipFile(path) as zf:   # nothing but the manifest and raw arrays: no pickle
        names = zf.namelist()
        manifest = json.loads(zf.read(document.MANIFEST))
    assert names[0] == document.MANIFEST and all(n.startswith("graphgrad/data/") for n in names[1:])
    assert manifest["format"] == "graphgrad.trace" and manifest["version"] == document.VERSION


def write_zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_files_that_are_not_traces_say_what_is_wrong(tmp_path):
    t, _ = traced()
    good = viz.save(t, tmp_path / "good.ggtrace")
    raw = pathlib.Path(good).read_bytes()
    manifest = json.loads(zipfile.ZipFile(good).read(document.MANIFEST))
    cases = {
        "not a graphgrad trace": (tmp_path / "text.ggtrace", b"hello"),
        "truncated": (tmp_path / "cut.ggtrace", raw[: len(raw) // 2]),
    }
    for message, (path, data) in cases.items():
        path.write_bytes(data)
        with pytest.raises(ValueError, match=message):
            viz.load(path)
    with pytest.raises(ValueError, match="has no graphgrad/trace.json"):
        viz.load(write_zip(tmp_path / "pickle.ggtrace", {"archive/data.pkl": b"\x80\x04"}))
    with pytest.raises(ValueError, match="not a graphgrad trace"):
        viz.load(write_zip(tmp_path / "other.ggtrace", {document.MANIFEST: json.dumps({"format": "graphgrad.save"})}))
    with pytest.raises(ValueError, match="format version 99"):
        viz.load(write_zip(tmp_path / "new.ggtrace", {document.MANIFEST: json.dumps({**manifest, "version": 99})}))
    lying = {**manifest, "arrays": [{**a, "shape": [10 ** 6]} for a in manifest["arrays"]]}   # claims more bytes than stored
    arrays = {a["file"]: zipfile.ZipFile(good).read(a["file"]) for a in manifest["arrays"]}
    with pytest.raises(ValueError, match="should have 8000000 bytes"):
        viz.load(write_zip(tmp_path / "lies.ggtrace", {document.MANIFEST: json.dumps(lying), **arrays}))


def test_the_fixture_the_browser_tests_read_is_current(tmp_path):
    """src/test/ggtrace.test.ts reads tests/fixtures/small.ggtrace; it must be what save() writes now."""
    doc = viz.load(FIXTURE)
    assert doc.graph["schema"] == 1 and doc.curves and doc.stats
    with zipfile.ZipFile(FIXTURE) as zf:
        assert json.loads(zf.read(document.MANIFEST))["version"] == document.VERSION


def make_fixture(path=FIXTURE):   # python -c "import tests.test_document as t; t.make_fixture()"
    gg.manual_seed(0)
    w = gg.randn(3, 2, requires_grad=True)
    loss = (gg.randn(4, 2) @ w.t()).relu().sum()
    loss.backward()
    shown = viz.show(loss, params={"layer.weight": w}, title="small")
    doc = document.load(viz.save(shown, path.with_suffix(".tmp")))
    doc.curves = [{"name": "loss", "chart": "loss", "steps": np.arange(3.0), "values": np.array([3.0, 2.0, np.nan])}]
    viz.save(doc, path)
    path.with_suffix(".tmp").unlink()


# ---- the saved view in a widget's output ---------------------------------------------------------

def test_graph_output_carries_the_saved_view_with_statistics():
    t, loss = traced()
    w = viz.show(t, title="traced")
    data, _ = w._repr_mimebundle_()
    saved = data[snapshot.MIME]
    assert saved["graph"] == w.graph and saved["title"] == "traced" and saved["version"] == 1
    assert "application/vnd.jupyter.widget-view+json" in data and "text/html" in data
    assert len(saved["tensors"]) >= 10
    entry = saved["tensors"][0]
    tensor = to_numpy(w.tensor(entry["node"], entry["what"])[0])
    assert dict(zip(STATS, entry["stats"]))["max"] == pytest.approx(float(tensor.max()))
    assert json.dumps(saved, allow_nan=False)   # plain JSON: no NaN or infinity


def test_saved_view_is_size_bounded(monkeypatch):
    monkeypatch.setattr(snapshot, "TENSOR_BYTES", 4000)
    monkeypatch.setattr(snapshot, "MAX_PREVIEW", 16)
    t, _ = traced()
    saved = viz.show(t)._repr_mimebundle_()[0][snapshot.MIME]
    assert 0 < len(json.dumps(saved["tensors"])) <= 4000
    assert all(len(t["preview"]) <= 16 for t in saved["tensors"])
    assert any(t["preview_kind"] == "none" for t in saved["tensors"])   # a bigger preview is left out
    assert any("statistics kept for" in n for n in saved["notes"])


def test_monitor_output_keeps_thinned_curves():
    mon = viz.monitor(display=False)
    for i in range(3000):
        mon.log(loss=1.0 / (i + 1))
    saved = mon._repr_mimebundle_()[0][snapshot.MIME]
    loss = curve(saved["curves"], "loss")
    assert len(loss["x"]) <= snapshot.MAX_POINTS and loss["x"][-1] == 2999.0 and loss["y"][0] == 1.0
    assert "charts" in saved["panels"]


def test_widget_state_carries_a_small_loader_and_the_kernel_serves_the_bundle():
    from graphgrad.viz import widget as widget_module
    code, stamp = widget_module._bundle()
    if code is None:
        pytest.skip("the widget bundle is not built")
    w = viz.show(traced()[1])
    assert len(w._esm) < 4096 and "graphgrad:bundle" in w._esm and stamp in w._esm
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    w._on_message(w, {"type": "graphgrad:bundle", "stamp": stamp}, [])
    assert sent[-1][0] == {"type": "graphgrad:bundle", "stamp": stamp} and sent[-1][1] == [code]
    w._on_message(w, {"type": "graphgrad:bundle", "stamp": "old"}, [])
    assert "run the cell again" in sent[-1][0]["error"] and not sent[-1][1]


@pytest.mark.slow
def test_the_tour_executed_and_saved_is_under_a_megabyte(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "examples" / "widget_tour.ipynb", as_version=4)
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    path = tmp_path / "tour.ipynb"
    nbformat.write(nb, path)
    size = path.stat().st_size
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    views = [o for o in outputs if snapshot.MIME in o.get("data", {})]
    assert len(views) >= 3, [list(o.get("data", {})) for o in outputs]
    assert any(v["data"][snapshot.MIME]["curves"] for v in views)   # the monitor's, brought up to date after its loop
    assert size < 1_000_000, f"the saved tour is {size} bytes"


def test_a_busy_kernel_pushes_the_front_end_to_a_monitor_twice_at_most():
    """A loop after viz.monitor keeps the kernel from answering the loader: the bundle goes out unasked."""
    from graphgrad.viz import widget as widget_module
    if widget_module._bundle()[0] is None:
        pytest.skip("the widget bundle is not built")
    mon = viz.monitor(display=False, interval=0)
    sent = []
    mon.send = lambda content, buffers=None: sent.append(content.get("type"))
    pushes = lambda: sent.count("graphgrad:bundle")
    mon._born -= 10   # made a while ago: both pushes are due
    for i in range(5):
        mon.log(loss=1.0 / (i + 1))
        mon.flush()
    assert pushes() == 2
    quiet = viz.monitor(display=False, interval=0)
    quiet.send = mon.send
    quiet._on_hello({"type": "hello", "version": quiet.protocol_version})   # a view runs: nothing pushed
    quiet._born -= 10
    quiet.log(loss=1.0)
    quiet.flush()
    assert pushes() == 2
