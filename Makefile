# vpclab: `make install` (apt packages, venv, the package), then `make test`.
VENV     := .venv
PYTHON   := $(VENV)/bin/python
APT_PKGS := openvswitch-switch mininet iperf3 tcpdump iputils-ping socat ethtool iproute2 nftables bind9-dnsutils \
            python3-venv python3-pip
PYTEST   := $(PYTHON) -m pytest

.PHONY: install apt venv test lint unit integration bench fuzz clean-venv

install: apt venv

apt:
	@missing=$$(for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "apt packages: all present"; fi

# Mininet's Python module comes from Debian: the venv must see the system site-packages.
# Exact versions of the Python dependencies: constraints.txt.
venv:
	test -x $(PYTHON) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -c constraints.txt -e '.[test,lint]'

# The whole suite: lint and architecture contracts, unit tests, live tests (root; they fail,
# never skip, without root and Open vSwitch).
test: lint unit integration

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit:
	$(PYTEST) -q tests/unit

integration:
	$(PYTEST) -q tests/integration

# The differential fuzzer: 50 random topologies through check and verify (root; ~10 minutes).
# Mismatches are saved, with a shrunk minimal topology, in fuzz-results/.
fuzz:
	$(VENV)/bin/vpclab fuzz --seeds 50 --out fuzz-results

# Performance figures (root; about twenty minutes): printed, and written to bench/results/*.json|png
bench:
	$(PYTHON) bench/flows.py
	$(PYTHON) bench/reach.py
	$(PYTHON) bench/scale.py
	$(PYTHON) bench/throughput.py
	$(PYTHON) bench/pps.py
	$(PYTHON) bench/bringup.py
	$(PYTHON) bench/bringup_scale.py --sample 300
	$(PYTHON) bench/change_latency.py
	$(PYTHON) bench/flowlogs.py

clean-venv:
	rm -rf $(VENV) *.egg-info
