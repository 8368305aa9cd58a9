from setuptools import find_packages, setup

setup(
    name="vpclab",
    version="0.1.0",
    description="Emulate AWS VPC networking (SGs, NACLs, routes, peering, TGW) on one Linux machine",
    python_requires=">=3.11",
    packages=find_packages(include=["vpclab*", "controller*", "nitro_switch*", "experiments*"]),
    install_requires=["PyYAML>=6", "jsonschema>=4", "os-ken>=2", "scapy>=2.5", "matplotlib>=3.6"],
    extras_require={"test": ["pytest>=7", "hypothesis>=6"]},
    entry_points={"console_scripts": ["vpclab = vpclab.cli:main"]},
)
