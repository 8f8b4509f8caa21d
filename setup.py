"""Packaging for smap_hybrid, driven by settings.ini (the single source nbdev also reads)."""

from configparser import ConfigParser
from setuptools import find_packages, setup

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]
split = lambda key: cfg.get(key, "").split()

licenses = {"apache2": "Apache-2.0"}

setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    license=licenses[cfg["license"]],
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Hydrology",
    ],
    url=cfg["git_url"],
    packages=find_packages(include=[cfg["lib_name"], cfg["lib_name"] + ".*"]),
    include_package_data=True,
    python_requires=">=" + cfg["min_python"],
    install_requires=split("requirements"),
    extras_require={
        "dev": split("dev_requirements"),
        "download": split("download_requirements"),
        "cluster": split("cluster_requirements"),
    },
    entry_points={
        "console_scripts": split("console_scripts"),
        "nbdev": [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"],
    },
    zip_safe=False,
)
