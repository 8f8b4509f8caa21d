"""Shared fixtures: the real SMAP samples (skipped with a reason when absent) and small file
factories."""

import os
from pathlib import Path

import numpy as np
import pytest

from smap_hybrid.smap import READ_VARS, sample_data, write_granule_from_dmr

ROOT = Path(__file__).resolve().parents[1]
# the longest files first (most CPU-seconds in `make test`), so that the two pytest workers, which
# take a whole file each, finish together instead of one waiting on the other's last long file
LONGEST = ("test_pipeline.py", "test_job.py", "test_real.py", "test_product.py",
           "test_experiments.py", "test_cli.py")


def pytest_collection_modifyitems(items):
    "Files in LONGEST order, then the rest; the tests within a file keep their order."
    rank = {name: i for i, name in enumerate(LONGEST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST)))


@pytest.fixture(scope="session")
def samples():
    "The folder of real SMAP samples, or skip: they live outside the repository (../shared/data)."
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        d = sample_data()
    finally:
        os.chdir(cwd)
    if d is None:
        pytest.skip(
            "real SMAP samples not found: set SMAP_HYBRID_SAMPLES or place shared/data beside the "
            "checkout"
        )
    return d


@pytest.fixture(scope="session")
def v3_files(samples):
    files = sorted((samples / "smap_l3_v3").glob("SMAP_L3_SM_P_*.h5"))
    if len(files) < 2:
        pytest.skip(f"the two real v3 granules are not in {samples / 'smap_l3_v3'}")
    return files


@pytest.fixture(scope="session")
def dmr(samples):
    p = samples / "smap_l3_v9_layout" / "SC_SPL3SMP_009.dmr"
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p


@pytest.fixture(scope="session")
def ismn_sample(samples):
    "The ISMN sample download (two COSMOS stations, 2017-08-10 to 2018-08-09)."
    p = samples / "ismn_sample" / "Data_seperate_files_header_20170810_20180809.zip"
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p


V9_VARS = READ_VARS + ("soil_moisture_dca", "retrieval_qual_flag_dca", "grid_surface_status")


def v9_fields(seed=0, share=0.3):
    """Realistic AM and PM values for a v9 granule: retrievals on a share of cells, v9 flag
    semantics."""
    rng = np.random.default_rng(seed)
    out = {}
    for grp, sfx in (
        ("Soil_Moisture_Retrieval_Data_AM", ""),
        ("Soil_Moisture_Retrieval_Data_PM", "_pm"),
    ):
        have = rng.random((406, 964)) < share
        sm = np.where(have, rng.uniform(0.02, 0.55, (406, 964)), -9999).astype("float32")
        qf = np.where(have, rng.choice([8, 9, 0, 1], (406, 964)), 65534).astype("uint16")
        sf = np.where(have, rng.choice([0, 1 << 7, 1 << 10, 1 << 9], (406, 964)), 65534).astype(
            "uint16"
        )
        out.update(
            {
                f"{grp}/soil_moisture_dca{sfx}": sm,
                f"{grp}/retrieval_qual_flag_dca{sfx}": qf,
                f"{grp}/surface_flag{sfx}": sf,
                f"{grp}/grid_surface_status{sfx}": np.zeros((406, 964), "uint16"),
            }
        )
    return out


@pytest.fixture
def make_v9(dmr, tmp_path):
    "Write a v9-layout granule for a day (YYYYMMDD) into tmp_path; returns (path, fields)."

    def make(day="20190601", seed=0, folder=None, **kw):
        folder = folder or tmp_path
        fields = v9_fields(seed)
        p = write_granule_from_dmr(
            dmr,
            Path(folder) / f"SMAP_L3_SM_P_{day}_R19240_001.h5",
            fields,
            variables=kw.get("variables", V9_VARS),
        )
        return p, fields

    return make
