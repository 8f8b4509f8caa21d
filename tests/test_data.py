"""The SPL3SMP reader, QC and cube on real granules (v3) and on v9-layout files written from the
real DMR, and the clear errors for bad input."""

import shutil

import h5py
import netCDF4
import numpy as np
import pytest

from smap_hybrid.cube import load_cube, write_cube
from smap_hybrid.data import QC_REASONS, gap_summary, open_cube, qc_reason
from smap_hybrid.grid import EASE2_36KM
from smap_hybrid.smap import SMAPFileError, read_granule


# --- real v3 granules -------------------------------------------------------------------------
def test_v3_real_values(v3_files):
    raw = read_granule(v3_files[0])
    sm = raw["sm_raw"]
    assert sm.shape == (406, 964) and sm.dtype == np.float32
    valid = np.isfinite(sm)
    assert (
        valid.sum() == 35278 and (sm[valid] > 0.5).sum() == 2002
    )  # documented in shared/data/README.md
    assert "land" not in raw  # v3 has no grid_surface_status


def test_window_read_equals_global_slice(v3_files):
    rows, cols = EASE2_36KM.window(-105, 30, -85, 45)
    win, full = read_granule(v3_files[1], rows=rows, cols=cols), read_granule(v3_files[1])
    for k in win:
        np.testing.assert_array_equal(win[k], full[k][rows, cols])


def test_v3_has_no_pm(v3_files):
    with pytest.raises(SMAPFileError, match="only the AM pass"):
        read_granule(v3_files[0], "PM")


def test_v3_cube_qc_and_gaps(v3_files):
    cube = open_cube(v3_files, bbox=(-125, 25, -65, 50))
    assert cube.sizes["time"] == 2
    sm, raw, reason = cube.sm.values, cube.sm_raw.values, cube.qc_reason.values
    kept = np.isfinite(sm)
    assert np.all((sm[kept] >= 0.02) & (sm[kept] <= 0.5))  # nothing out of range survives
    assert np.all(reason[kept] == 0) and np.all(reason[~kept] > 0)  # every drop has a reason
    assert np.all(reason[np.isnan(raw)] & QC_REASONS["no_retrieval"])
    g = gap_summary(cube)
    assert 0 < g["gap_raw"] < g["gap_qc"] < 1


# --- the current (v9) layout, written from the real DMR -----------------------------------------
def test_v9_layout_hard_links_and_reader(make_v9):
    p, fields = make_v9()
    with h5py.File(p) as f:
        am = f["Soil_Moisture_Retrieval_Data_AM"]
        assert am["soil_moisture"].id == am["soil_moisture_dca"].id  # hard link, as in the archive
        assert am["retrieval_qual_flag"].id == am["retrieval_qual_flag_dca"].id
        assert am["soil_moisture"].attrs["_FillValue"] == np.float32(-9999)
        assert "soil_moisture_pm" in f["Soil_Moisture_Retrieval_Data_PM"]
    for pass_, grp, sfx in (
        ("AM", "Soil_Moisture_Retrieval_Data_AM", ""),
        ("PM", "Soil_Moisture_Retrieval_Data_PM", "_pm"),
    ):
        raw = read_granule(p, pass_)
        src = fields[f"{grp}/soil_moisture_dca{sfx}"]
        np.testing.assert_array_equal(np.isnan(raw["sm_raw"]), src == -9999)
        np.testing.assert_array_equal(
            raw["retrieval_qual_flag"], fields[f"{grp}/retrieval_qual_flag_dca{sfx}"]
        )
        assert raw["land"].all()


def test_v9_qc_flag_8_is_good(make_v9):
    p, fields = make_v9()
    raw = read_granule(p)
    r = qc_reason(raw["sm_raw"], raw["retrieval_qual_flag"], raw["surface_flag"])
    good = (
        (raw["retrieval_qual_flag"] == 8)
        & (raw["surface_flag"] == 0)
        & (raw["sm_raw"] >= 0.02)
        & (raw["sm_raw"] <= 0.5)
    )
    assert good.sum() > 1000 and np.all(r[good] == 0)
    assert np.all(r[raw["retrieval_qual_flag"] == 9] & QC_REASONS["not_recommended"])
    assert np.all(r[(raw["surface_flag"] == 1 << 7)] & QC_REASONS["frozen"])


def test_cube_missing_days_duplicates_and_roundtrip(make_v9, tmp_path):
    make_v9("20190601", 0)
    make_v9("20190604", 1)
    shutil.copy(
        tmp_path / "SMAP_L3_SM_P_20190601_R19240_001.h5",
        tmp_path / "SMAP_L3_SM_P_20190601_R19240_002.h5",
    )
    cube = open_cube(tmp_path, bbox=(-100, 35, -90, 45))
    assert cube.sizes["time"] == 4 and bool(cube.sm_raw.isel(time=[1, 2]).isnull().all())
    rep = cube.attrs["ingest_report"]
    assert "1 duplicates" in rep and "2019-06-02" in rep and "2019-06-03" in rep
    out = write_cube(cube, tmp_path / "out" / "cube.nc")
    with netCDF4.Dataset(out) as nc:  # CF: grid mapping, units, fill value, provenance
        assert (
            nc["sm"].grid_mapping == "crs"
            and nc["crs"].grid_mapping_name == "lambert_cylindrical_equal_area"
        )
        assert nc["sm"].units == "m3 m-3" and np.isnan(nc["sm"]._FillValue)
        assert "smap_hybrid" in nc.history and "SMAP_L3_SM_P_20190604" in nc.input_files
    back = load_cube(out)
    np.testing.assert_array_equal(back.sm.values, cube.sm.values)
    np.testing.assert_array_equal(back.qc_reason.values, cube.qc_reason.values)
    assert back.land.dtype == bool
    assert not list((tmp_path / "out").glob("*.tmp")), "no temporary file left behind"


# --- bad input: each a clear error naming the file -----------------------------------------------
def test_truncated_file(make_v9, tmp_path):
    p, _ = make_v9()
    data = p.read_bytes()
    bad = tmp_path / "SMAP_L3_SM_P_20190602_R19240_001.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(SMAPFileError, match=str(bad.name)):
        read_granule(bad)


def test_corrupt_header(make_v9, tmp_path):
    p, _ = make_v9()
    data = bytearray(p.read_bytes())
    data[:8] = b"garbage!"
    bad = tmp_path / "SMAP_L3_SM_P_20190602_R19240_001.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises(SMAPFileError, match="not a readable HDF5"):
        read_granule(bad)


def test_foreign_hdf5_wrong_group_missing_variable_wrong_grid(tmp_path):
    foreign = tmp_path / "SMAP_L3_SM_P_20190601_R19240_001.h5"
    with h5py.File(foreign, "w") as f:
        f["temperature"] = np.zeros((10, 10))
    with pytest.raises(SMAPFileError, match="no SPL3SMP retrieval group"):
        read_granule(foreign)
    novar = tmp_path / "SMAP_L3_SM_P_20190602_R19240_001.h5"
    with h5py.File(novar, "w") as f:
        f.create_group("Soil_Moisture_Retrieval_Data_AM")["soil_moisture"] = np.zeros(
            (406, 964), "float32"
        )
    with pytest.raises(SMAPFileError, match="lacks variables.*retrieval_qual_flag"):
        read_granule(novar)
    grid = tmp_path / "SMAP_L3_SM_P_20190603_R19240_001.h5"
    with h5py.File(grid, "w") as f:
        g = f.create_group("Soil_Moisture_Retrieval_Data_AM")
        for v in ("soil_moisture", "retrieval_qual_flag", "surface_flag"):
            g[v] = np.zeros((1624, 3856), "float32")  # the 9 km grid
    with pytest.raises(SMAPFileError, match="expected EASE-Grid 2.0 36 km"):
        read_granule(grid)


def test_empty_directory_and_no_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no granules"):
        open_cube(tmp_path)
    with pytest.raises(SMAPFileError, match="does not exist"):
        read_granule(tmp_path / "SMAP_L3_SM_P_20190601_R19240_001.h5")


def test_one_bad_file_among_many(make_v9, tmp_path):
    for i, day in enumerate(("20190601", "20190602", "20190603")):
        make_v9(day, i)
    bad = tmp_path / "SMAP_L3_SM_P_20190602_R19240_001.h5"
    bad.write_bytes(bad.read_bytes()[:1000])
    cube = open_cube(tmp_path, rows=slice(100, 110), cols=slice(200, 220))
    rep = cube.attrs["ingest_report"]
    assert "2 granules used, 1 skipped" in rep and bad.name in rep
    assert bool(cube.sm_raw.isel(time=1).isnull().all()) and not bool(
        cube.sm_raw.isel(time=0).isnull().all()
    )
    with pytest.raises(SMAPFileError, match=bad.name):
        open_cube(tmp_path, on_error="raise")


def test_file_name_without_day(make_v9, tmp_path):
    p, _ = make_v9()
    odd = tmp_path / "granule.h5"
    p.rename(odd)
    with pytest.raises(SMAPFileError, match="day is unknown"):
        open_cube(odd)
