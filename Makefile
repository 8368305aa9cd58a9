# vpclab. On a fresh clone, as root, either command is enough alone:
#   make test    installs what it needs, then runs the whole suite
#   make demo    installs what it needs, then opens the tour's design live in the vpclab shell
# make install brings only the tool; make lock regenerates requirements.lock.
VENV     := .venv
PYTHON   := $(VENV)/bin/python
LOCK     := requirements.lock
STAMP    := $(VENV)/.built-from-lock
APT_PKGS := openvswitch-switch mininet iperf3 tcpdump iputils-ping socat ethtool iproute2 nftables bind9-dnsutils \
            python3-venv frr bird2 awscli
PYTEST   := $(PYTHON) -m pytest

.PHONY: install apt venv lock test lint docs unit integration demo bench fuzz clean-venv

install: apt venv

apt:
	@missing=$$(for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "apt packages: all present"; fi

# The venv holds exactly what requirements.lock pins (hashes checked, no resolution at install
# time) plus vpclab itself, and sees nothing of the system's Python packages but Debian's
# Mininet module (a directory holding only a link to it, on the path by a .pth file). A venv not
# built from the current lock is thrown away and built again: `make venv` after `make lock`.
venv: $(STAMP) $(VENV)/.vpclab-installed

$(STAMP): $(LOCK)
	rm -rf $(VENV) *.egg-info
	/usr/bin/python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --require-hashes --no-deps -r $(LOCK)
	mininet=$$(dpkg -L mininet | grep '/mininet/__init__.py$$' | xargs dirname) && \
	site=$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	mkdir -p $(VENV)/debian && ln -sfn "$$mininet" $(VENV)/debian/mininet && \
	echo "$(abspath $(VENV))/debian" > "$$site/debian-mininet.pth"
	touch $@

# vpclab itself, editable, again whenever pyproject.toml changes (its commands, its data)
$(VENV)/.vpclab-installed: $(STAMP) pyproject.toml
	$(PYTHON) -m pip install -q --no-build-isolation --no-deps -e .
	$(PYTHON) tests/lockcheck.py
	touch $@

# Every distribution in the venv, direct or not, at an exact version with its hashes, valid on
# every Python that vpclab supports (Debian 12's 3.11, Debian 13's 3.13). Pins already in the
# lock stay; `make lock UPGRADE=name` moves one package.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --universal --generate-hashes \
	    --python-version 3.11 --native-tls --quiet -o $(LOCK) \
	    $(if $(UPGRADE),--upgrade-package $(UPGRADE))
	@echo "$(LOCK) written: run make venv to rebuild the venv from it"

# The whole suite: lint and architecture contracts, unit tests, live tests (root; they fail,
# never skip, without root and Open vSwitch).
test: install
	$(MAKE) lint docs unit integration

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PYTHON) tests/lockcheck.py

# The documentation site (docs/, mkdocs.yml), strict: a broken link or image, a page missing
# from nav or a nav entry without a page fails; the front page is README.md.
docs: venv
	$(VENV)/bin/mkdocs build --strict --quiet

unit: venv
	$(PYTEST) -q tests/unit

integration: venv
	$(PYTEST) -q tests/integration

# The five-minute tour's design, live (root): the shell says which verbs to try first.
demo: install
	$(VENV)/bin/vpclab demo

# The differential fuzzer: 50 random topologies through check and verify (root; ~10 minutes).
# Mismatches are saved, with a shrunk minimal topology, in fuzz-results/.
fuzz: install
	$(VENV)/bin/vpclab fuzz --seeds 50 --out fuzz-results

# Performance figures (root; about half an hour): each bench prints its figures (kept in
# bench/results/NAME.txt) and writes bench/results/NAME.json|png; then bench/page.py writes
# docs/performance.md from what they printed, and the plots.
BENCHES := throughput pps connections flowlogs bringup "bringup_scale --sample 300" change_latency \
           controller_load flows scale reach sites ec2_api run_instances
bench: install
	@mkdir -p bench/results
	@for bench in $(BENCHES); do set -- $$bench; \
	    echo "== bench/$$1.py"; \
	    $(PYTHON) bench/$$1.py $$2 $$3 > bench/results/$$1.txt || { cat bench/results/$$1.txt; exit 1; }; \
	    cat bench/results/$$1.txt; \
	done
	$(PYTHON) bench/page.py

clean-venv:
	rm -rf $(VENV) *.egg-info
