"""Load a topology file: strict YAML -> shape check -> meaning checks -> the typed model.

Every problem is collected (not just the first) and reported with file, line and path.
AWS defaults are filled in here: default SG, default NACL, main route table, local routes,
instance IPs and server placement.
"""
from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Network
from typing import Callable, Optional

from . import model as m
from .document import Document, load_document
from .errors import DocPath, Problem, TopologyError, format_path
from .instances import build_instances
from .schema import shape_problems
from .values import parse_network, parse_ports, parse_protocol

MAX_INSTANCE_NAME = 10  # the instance's interfaces are named after it (Linux allows 15)
NACL_RULE_NUMBERS = (1, 32766)
VPC_PREFIXES = (16, 28)
DEFAULT_AZ = "a"
DEFAULT_SERVERS = 2
ALL_IPV4 = IPv4Network("0.0.0.0/0")


def load_topology(source: str, text: Optional[str] = None) -> m.Topology:
    """Load and validate ``source``; raise TopologyError listing every problem."""
    document = load_document(source, text)
    problems = shape_problems(document)
    if problems:
        raise TopologyError(source, problems)
    builder = _Builder(document)
    topology = builder.build()
    if builder.problems:
        raise TopologyError(source, builder.problems)
    return topology


class _Builder:
    """Builds the model from validated-shape data, recording meaning-level problems."""

    def __init__(self, document: Document):
        self.document = document
        self.data: dict = document.data
        self.problems: list[Problem] = []

    # -- helpers -----------------------------------------------------------------------------
    def report(self, path: DocPath, message: str) -> None:
        self.problems.append(self.document.problem(path, message))

    def parsed(self, path: DocPath, parser: Callable, *args):
        """``parser(*args)``, or None after reporting its ValueError at ``path``."""
        try:
            return parser(*args)
        except ValueError as error:
            self.report(path, str(error))
            return None

    def unique_names(self, items: list, path: DocPath, what: str) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            if item["name"] in seen:
                self.report(path + (index, "name"),
                            f"{what} '{item['name']}' is already defined at "
                            f"{format_path(path + (seen[item['name']],))}")
            else:
                seen[item["name"]] = index

    # -- the whole topology --------------------------------------------------------------------
    def build(self) -> m.Topology:
        vpcs_data = self.data["vpcs"]
        self.unique_names(vpcs_data, ("vpcs",), "VPC")
        self.servers = self.build_servers()
        self.server_load: Counter = Counter()  # instances placed per server, for spreading
        self.vpc_cidrs = {vpc["name"]: self.build_vpc_cidrs(i, vpc) for i, vpc in enumerate(vpcs_data)}
        self.subnets = {vpc["name"]: self.build_subnets(i, vpc) for i, vpc in enumerate(vpcs_data)}
        self.peerings = self.build_peerings()
        self.transit_gateways = self.build_transit_gateways()
        self.sg_names = self.index_security_groups()
        self.check_instance_names()
        vpcs = tuple(self.build_vpc(i, vpc) for i, vpc in enumerate(vpcs_data))
        return m.Topology(name=self.data["name"], source=self.document.source,
                          servers=self.servers, vpcs=vpcs, peerings=self.peerings,
                          transit_gateways=self.transit_gateways)

    def build_servers(self) -> tuple[m.Server, ...]:
        servers = self.data.get("servers", DEFAULT_SERVERS)
        if isinstance(servers, int):
            return tuple(m.Server("servers", f"srv{n}", None) for n in range(1, servers + 1))
        self.unique_names(servers, ("servers",), "server")
        return tuple(m.Server(f"servers[{i}]", s["name"], s.get("az")) for i, s in enumerate(servers))

    # -- VPC address space ---------------------------------------------------------------------
    def build_vpc_cidrs(self, index: int, vpc: dict) -> tuple[IPv4Network, ...]:
        raw = vpc["cidr"] if isinstance(vpc["cidr"], list) else [vpc["cidr"]]
        paths = [("vpcs", index, "cidr") + ((n,) if isinstance(vpc["cidr"], list) else ())
                 for n in range(len(raw))]
        cidrs = []
        for path, text in zip(paths, raw):
            cidr = self.parsed(path, parse_network, text)
            if cidr is None:
                continue
            if not VPC_PREFIXES[0] <= cidr.prefixlen <= VPC_PREFIXES[1]:
                self.report(path, f"a VPC CIDR must be between /{VPC_PREFIXES[0]} and "
                                  f"/{VPC_PREFIXES[1]} (AWS's limits), got /{cidr.prefixlen}")
            clash = next((c for c in cidrs if c.overlaps(cidr)), None)
            if clash:
                self.report(path, f"{cidr} overlaps this VPC's other CIDR {clash}")
                continue
            cidrs.append(cidr)
        return tuple(cidrs)

    def build_subnets(self, vpc_index: int, vpc: dict) -> dict[str, dict]:
        """Subnet name -> {'cidr', 'az', 'index'}; references are checked in build_vpc."""
        subnets_data = vpc.get("subnets", [])
        self.unique_names(subnets_data, ("vpcs", vpc_index, "subnets"), "subnet")
        cidrs = self.vpc_cidrs[vpc["name"]]
        result: dict[str, dict] = {}
        for index, subnet in enumerate(subnets_data):
            path = ("vpcs", vpc_index, "subnets", index, "cidr")
            cidr = self.parsed(path, parse_network, subnet["cidr"])
            if cidr is not None:
                self.check_subnet_cidr(path, cidr, cidrs, result)
            result.setdefault(subnet["name"], {"cidr": cidr, "az": subnet.get("az", DEFAULT_AZ),
                                               "index": index})
        return result

    def check_subnet_cidr(self, path, cidr, vpc_cidrs, siblings) -> None:
        if vpc_cidrs and not any(cidr.subnet_of(c) for c in vpc_cidrs):
            inside = " or ".join(str(c) for c in vpc_cidrs)
            self.report(path, f"{cidr} is not inside the VPC CIDR {inside}")
        if not VPC_PREFIXES[0] <= cidr.prefixlen <= VPC_PREFIXES[1]:
            self.report(path, f"a subnet CIDR must be between /{VPC_PREFIXES[0]} and "
                              f"/{VPC_PREFIXES[1]} (AWS's limits), got /{cidr.prefixlen}")
        for name, sibling in siblings.items():
            if sibling["cidr"] is not None and sibling["cidr"].overlaps(cidr):
                self.report(path, f"{cidr} overlaps subnet '{name}' ({sibling['cidr']})")

    # -- peerings ------------------------------------------------------------------------------
    def build_peerings(self) -> tuple[m.Peering, ...]:
        peerings_data = self.data.get("peerings", [])
        self.unique_names(peerings_data, ("peerings",), "peering")
        active_pairs: dict[frozenset, str] = {}
        peerings = []
        for index, peering in enumerate(peerings_data):
            path = ("peerings", index)
            ends = [peering["requester"], peering["accepter"]]
            missing = [(key, vpc) for key, vpc in zip(("requester", "accepter"), ends)
                       if vpc not in self.vpc_cidrs]
            for key, vpc in missing:
                self.report(path + (key,), f"no VPC named '{vpc}'")
            if missing:
                continue
            if ends[0] == ends[1]:
                self.report(path, f"a VPC cannot peer with itself ('{ends[0]}')")
                continue
            self.check_peering_overlap(path, *ends)
            pair = frozenset(ends)
            if not peering.get("deleted", False):
                if pair in active_pairs:
                    self.report(path, f"'{ends[0]}' and '{ends[1]}' already have an active "
                                      f"peering '{active_pairs[pair]}' (AWS allows one)")
                active_pairs.setdefault(pair, peering["name"])
            peerings.append(m.Peering(format_path(path), peering["name"], ends[0], ends[1],
                                      peering.get("deleted", False)))
        return tuple(peerings)

    def check_peering_overlap(self, path, requester: str, accepter: str) -> None:
        for mine in self.vpc_cidrs[requester]:
            for theirs in self.vpc_cidrs[accepter]:
                if mine.overlaps(theirs):
                    self.report(path, f"'{requester}' ({mine}) and '{accepter}' ({theirs}) "
                                      "have overlapping CIDRs; AWS rejects such a peering")

    def peered(self, vpc_a: str, vpc_b: str) -> bool:
        return any(p.joins(vpc_a, vpc_b) for p in self.peerings)

    # -- transit gateways ----------------------------------------------------------------------
    def build_transit_gateways(self) -> tuple[m.TransitGateway, ...]:
        tgws_data = self.data.get("transit_gateways", [])
        self.unique_names(tgws_data, ("transit_gateways",), "transit gateway")
        all_attachments = [(t, a) for t, tgw in enumerate(tgws_data)
                           for a in range(len(tgw.get("attachments", [])))]
        seen: dict[str, DocPath] = {}
        for t, a in all_attachments:
            name = tgws_data[t]["attachments"][a]["name"]
            path = ("transit_gateways", t, "attachments", a, "name")
            if name in seen:
                self.report(path, f"attachment '{name}' is already defined at "
                                  f"{format_path(seen[name][:-1])}")
            seen.setdefault(name, path)
        return tuple(self.build_transit_gateway(t, tgw) for t, tgw in enumerate(tgws_data))

    def build_transit_gateway(self, t: int, tgw: dict) -> m.TransitGateway:
        path = ("transit_gateways", t)
        attachments = tuple(self.build_attachment(path + ("attachments", a), tgw["name"], att)
                            for a, att in enumerate(tgw.get("attachments", [])))
        attached_vpcs = Counter(att.vpc for att in attachments)
        for a, att in enumerate(attachments):
            if attached_vpcs[att.vpc] > 1:
                self.report(path + ("attachments", a, "vpc"),
                            f"VPC '{att.vpc}' is attached to '{tgw['name']}' more than once")
        names = {att.name for att in attachments}
        tables_data = tgw.get("route_tables", [])
        self.unique_names(tables_data, path + ("route_tables",), "TGW route table")
        associated: dict[str, DocPath] = {}
        tables = []
        for r, table in enumerate(tables_data):
            table_path = path + ("route_tables", r)
            for key in ("associations", "propagations"):
                for n, name in enumerate(table.get(key, [])):
                    if name not in names:
                        self.report(table_path + (key, n),
                                    f"no attachment '{name}' on transit gateway '{tgw['name']}'")
            for n, name in enumerate(table.get("associations", [])):
                if name in associated:
                    self.report(table_path + ("associations", n),
                                f"attachment '{name}' is already associated with "
                                f"{format_path(associated[name])}; an attachment is "
                                "associated with exactly one TGW route table")
                associated.setdefault(name, table_path)
            tables.append(self.build_tgw_table(table_path, table, names))
        return m.TransitGateway(format_path(path), tgw["name"], attachments, tuple(tables))

    def build_attachment(self, path, tgw_name: str, att: dict) -> m.Attachment:
        vpc = att["vpc"]
        if vpc not in self.subnets:
            self.report(path + ("vpc",), f"no VPC named '{vpc}'")
            return m.Attachment(format_path(path), tgw_name, att["name"], vpc, ())
        if not att["subnets"]:
            self.report(path + ("subnets",), "an attachment needs at least one subnet")
        azs: dict[str, str] = {}
        for n, subnet in enumerate(att["subnets"]):
            if subnet not in self.subnets[vpc]:
                self.report(path + ("subnets", n), f"no subnet '{subnet}' in VPC '{vpc}'")
                continue
            az = self.subnets[vpc][subnet]["az"]
            if az in azs:
                self.report(path + ("subnets", n), f"subnets '{azs[az]}' and '{subnet}' are both "
                                                   f"in AZ {az}; an attachment takes one subnet per AZ")
            azs.setdefault(az, subnet)
        return m.Attachment(format_path(path), tgw_name, att["name"], vpc, tuple(att["subnets"]))

    def build_tgw_table(self, path, table: dict, attachments: set) -> m.TgwRouteTable:
        routes = []
        destinations: dict[IPv4Network, int] = {}
        for n, route in enumerate(table.get("routes", [])):
            route_path = path + ("routes", n)
            destination = self.parsed(route_path + ("destination",), parse_network,
                                      route["destination"])
            targets = [key for key in ("attachment", "blackhole") if route.get(key)]
            if len(targets) != 1:
                self.report(route_path, "a TGW route needs exactly one of 'attachment' or "
                                        "'blackhole: true'")
                continue
            if route.get("attachment") and route["attachment"] not in attachments:
                self.report(route_path + ("attachment",),
                            f"no attachment '{route['attachment']}' on this transit gateway")
                continue
            if destination is None:
                continue
            if destination in destinations:
                self.report(route_path + ("destination",),
                            f"{destination} already has a static route in this table "
                            f"(routes[{destinations[destination]}])")
                continue
            destinations[destination] = n
            routes.append(m.TgwRoute(format_path(route_path), destination,
                                     route.get("attachment"), bool(route.get("blackhole"))))
        return m.TgwRouteTable(format_path(path), table["name"], tuple(table.get("associations", [])),
                               tuple(table.get("propagations", [])), tuple(routes))

    # -- security group names (global) ---------------------------------------------------------
    def index_security_groups(self) -> dict[str, str]:
        """SG name -> owning VPC, for names other than 'default' (unique across the file).

        Also records in ``sg_places`` which document entry defines each group, so a duplicate
        (already reported) is not built twice.
        """
        owners: dict[str, str] = {}
        self.sg_places: dict = {}
        for v, vpc in enumerate(self.data["vpcs"]):
            for s, sg in enumerate(vpc.get("security_groups", [])):
                path = ("vpcs", v, "security_groups", s)
                name = sg["name"]
                key = ("default", v) if name == "default" else name
                if key in self.sg_places:
                    self.report(path + ("name",), f"security group '{name}' is already defined "
                                                  f"at {format_path(self.sg_places[key])}")
                    continue
                self.sg_places[key] = path
                if name != "default":
                    owners[name] = vpc["name"]
        return owners

    def check_instance_names(self) -> None:
        seen: dict[str, DocPath] = {}
        for v, vpc in enumerate(self.data["vpcs"]):
            for i, instance in enumerate(vpc.get("instances", [])):
                path = ("vpcs", v, "instances", i, "name")
                name = instance["name"]
                if name in seen:
                    self.report(path, f"instance '{name}' is already defined at "
                                      f"{format_path(seen[name][:-1])}")
                seen.setdefault(name, path)
                if len(name) > MAX_INSTANCE_NAME:
                    self.report(path, f"'{name}' is {len(name)} characters; instance names are at "
                                      f"most {MAX_INSTANCE_NAME} (they name network interfaces)")

    # -- one VPC -------------------------------------------------------------------------------
    def build_vpc(self, v: int, vpc: dict) -> m.Vpc:
        name = vpc["name"]
        path = ("vpcs", v)
        route_tables = self.build_route_tables(v, vpc)
        nacls = self.build_nacls(v, vpc)
        security_groups = self.build_security_groups(v, vpc)
        subnets = self.build_subnet_objects(v, vpc, route_tables, nacls)
        instances = build_instances(self, v, vpc, subnets)
        return m.Vpc(format_path(path), name, v + 1, self.vpc_cidrs[name], subnets, route_tables,
                     security_groups, nacls, instances)

    def build_subnet_objects(self, v, vpc, route_tables, nacls) -> tuple[m.Subnet, ...]:
        table_names = {t.name for t in route_tables}
        main_table = next(t.name for t in route_tables if t.main)
        nacl_names = {n.name for n in nacls}
        subnets = []
        for s, subnet in enumerate(vpc.get("subnets", [])):
            path = ("vpcs", v, "subnets", s)
            info = self.subnets[vpc["name"]][subnet["name"]]
            table = subnet.get("route_table", main_table)
            if table not in table_names:
                self.report(path + ("route_table",), f"no route table '{table}' in VPC '{vpc['name']}'")
            nacl = subnet.get("nacl", "default")
            if nacl not in nacl_names:
                self.report(path + ("nacl",), f"no NACL '{nacl}' in VPC '{vpc['name']}'")
            if info["index"] != s or info["cidr"] is None:
                continue  # a duplicate name or a bad CIDR, already reported
            subnets.append(m.Subnet(format_path(path), vpc["name"], subnet["name"], info["cidr"],
                                    info["az"], table, nacl))
        return tuple(subnets)

    # -- route tables --------------------------------------------------------------------------
    def build_route_tables(self, v: int, vpc: dict) -> tuple[m.RouteTable, ...]:
        tables_data = vpc.get("route_tables", [])
        path = ("vpcs", v, "route_tables")
        self.unique_names(tables_data, path, "route table")
        mains = [t for t, table in enumerate(tables_data) if table.get("main")]
        for t in mains[1:]:
            self.report(path + (t, "main"), f"VPC '{vpc['name']}' already has a main route table "
                                            f"('{tables_data[mains[0]]['name']}')")
        tables = [self.build_route_table(v, vpc, t, table, main=bool(mains) and t == mains[0])
                  for t, table in enumerate(tables_data)]
        if not mains:
            if any(table["name"] == "main" for table in tables_data):
                index = next(t for t, table in enumerate(tables_data) if table["name"] == "main")
                self.report(path + (index, "name"), "'main' names the VPC's implicit main route "
                                                    "table; set 'main: true' or choose another name")
            tables.append(m.RouteTable(format_path(path) + "[main]", "main", True,
                                       self.local_routes(path + ("main",), vpc)))
        return tuple(tables)

    def local_routes(self, table_path: DocPath, vpc: dict) -> tuple[m.Route, ...]:
        origin = (format_path(table_path[:-1]) + f"[{table_path[-1]}]"
                  if isinstance(table_path[-1], str) else format_path(table_path))
        return tuple(m.Route(f"{origin}.routes[local]", cidr, local=True)
                     for cidr in self.vpc_cidrs[vpc["name"]])

    def build_route_table(self, v, vpc, t, table, main: bool) -> m.RouteTable:
        path = ("vpcs", v, "route_tables", t)
        routes = list(self.local_routes(path, vpc))
        destinations: dict[IPv4Network, int] = {}
        for r, route in enumerate(table.get("routes", [])):
            built = self.build_route(path + ("routes", r), vpc["name"], route)
            if built is None:
                continue
            if built.destination in destinations:
                self.report(path + ("routes", r, "destination"),
                            f"{built.destination} already has a route in this table "
                            f"(routes[{destinations[built.destination]}])")
                continue
            destinations[built.destination] = r
            routes.append(built)
        return m.RouteTable(format_path(path), table["name"], main, tuple(routes))

    def build_route(self, path, vpc: str, route: dict) -> Optional[m.Route]:
        destination = self.parsed(path + ("destination",), parse_network, route["destination"])
        targets = [key for key in ("peering", "transit_gateway", "blackhole") if route.get(key)]
        if len(targets) != 1:
            self.report(path, "a route needs exactly one of 'peering', 'transit_gateway' or "
                              "'blackhole: true'")
            return None
        if destination is None:
            return None
        for cidr in self.vpc_cidrs[vpc]:
            if destination.subnet_of(cidr):
                self.report(path + ("destination",),
                            f"{destination} is inside the VPC CIDR {cidr}: the local route covers "
                            "it and AWS rejects a route as or more specific than it")
                return None
        target_ok = self.check_route_target(path, vpc, route)
        if not target_ok:
            return None
        return m.Route(format_path(path), destination, peering=route.get("peering"),
                       transit_gateway=route.get("transit_gateway"),
                       blackhole=bool(route.get("blackhole")))

    def check_route_target(self, path, vpc: str, route: dict) -> bool:
        if route.get("peering"):
            peering = next((p for p in self.peerings if p.name == route["peering"]), None)
            if peering is None:
                self.report(path + ("peering",), f"no peering named '{route['peering']}'")
                return False
            if vpc not in (peering.requester, peering.accepter):
                self.report(path + ("peering",), f"peering '{peering.name}' joins "
                                                 f"'{peering.requester}' and '{peering.accepter}', "
                                                 f"not VPC '{vpc}'")
                return False
        if route.get("transit_gateway"):
            tgw = next((t for t in self.transit_gateways if t.name == route["transit_gateway"]), None)
            if tgw is None:
                self.report(path + ("transit_gateway",),
                            f"no transit gateway named '{route['transit_gateway']}'")
                return False
            if not any(att.vpc == vpc for att in tgw.attachments):
                self.report(path + ("transit_gateway",), f"VPC '{vpc}' has no attachment to "
                                                         f"transit gateway '{tgw.name}'")
                return False
        return True

    # -- NACLs ---------------------------------------------------------------------------------
    def build_nacls(self, v: int, vpc: dict) -> tuple[m.Nacl, ...]:
        nacls_data = vpc.get("nacls", [])
        path = ("vpcs", v, "nacls")
        self.unique_names(nacls_data, path, "NACL")
        nacls = [self.build_nacl(path + (n,), nacl) for n, nacl in enumerate(nacls_data)]
        if not any(nacl["name"] == "default" for nacl in nacls_data):
            origin = format_path(path) + "[default]"
            allow_all = {"rule": 100, "protocol": "all", "cidr": "0.0.0.0/0", "action": "allow"}
            nacls.append(m.Nacl(origin, "default",
                                self.nacl_rules(origin + ".ingress", [allow_all], None),
                                self.nacl_rules(origin + ".egress", [allow_all], None)))
        return tuple(nacls)

    def build_nacl(self, path, nacl: dict) -> m.Nacl:
        origin = format_path(path)
        return m.Nacl(origin, nacl["name"],
                      self.nacl_rules(origin + ".ingress", nacl.get("ingress", []), path + ("ingress",)),
                      self.nacl_rules(origin + ".egress", nacl.get("egress", []), path + ("egress",)))

    def nacl_rules(self, origin: str, rules_data: list, path: Optional[DocPath]) -> tuple:
        """Rules sorted by number, ending with the '*' deny. ``path`` None: implicit rules."""
        numbers: dict[int, int] = {}
        rules = []
        for r, rule in enumerate(rules_data):
            rule_path = path + (r,) if path else ()
            number = rule["rule"]
            if not NACL_RULE_NUMBERS[0] <= number <= NACL_RULE_NUMBERS[1]:
                self.report(rule_path + ("rule",), f"rule number {number} is outside "
                                                   f"{NACL_RULE_NUMBERS[0]}-{NACL_RULE_NUMBERS[1]}")
                continue
            if number in numbers:
                self.report(rule_path + ("rule",), f"rule number {number} is already used by "
                                                   f"rule [{numbers[number]}] in this direction")
                continue
            numbers[number] = r
            traffic = self.traffic(rule_path, rule)
            cidr = self.parsed(rule_path + ("cidr",), parse_network, rule["cidr"])
            if traffic is None or cidr is None:
                continue
            label = f"[{r}]" if path else "[0]"
            rules.append(m.NaclRule(origin + label, number, traffic, cidr, rule["action"] == "allow"))
        rules.sort(key=lambda rule: rule.number)
        rules.append(m.NaclRule(origin + "[*]", None, m.Traffic(), ALL_IPV4, False))
        return tuple(rules)

    def traffic(self, path: DocPath, rule: dict) -> Optional[m.Traffic]:
        protocol = self.parsed(path + ("protocol",), parse_protocol, rule["protocol"])
        if protocol is None and rule["protocol"] not in ("all", -1, "-1"):
            return None
        if "ports" in rule:
            ports = self.parsed(path + ("ports",), parse_ports, rule["ports"], protocol)
            if ports is None:
                return None
            return m.Traffic(protocol, ports)
        return m.Traffic(protocol, None)

    # -- security groups -----------------------------------------------------------------------
    def build_security_groups(self, v: int, vpc: dict) -> tuple[m.SecurityGroup, ...]:
        groups = []
        for s, sg in enumerate(vpc.get("security_groups", [])):
            key = ("default", v) if sg["name"] == "default" else sg["name"]
            if self.sg_places[key] != ("vpcs", v, "security_groups", s):
                continue  # a duplicate, already reported
            groups.append(self.build_security_group(v, vpc["name"], s, sg))
        if not any(g.name == "default" for g in groups):
            origin = f"vpcs[{v}].security_groups[default]"
            self_ref = m.SGRef(vpc["name"], "default")
            groups.append(m.SecurityGroup(
                origin, vpc["name"], "default",
                (m.SGRule(origin + ".ingress[0]", m.Traffic(), security_group=self_ref),),
                (m.SGRule(origin + ".egress[0]", m.Traffic(), cidr=ALL_IPV4),)))
        return tuple(groups)

    def build_security_group(self, v: int, vpc: str, s: int, sg: dict) -> m.SecurityGroup:
        path = ("vpcs", v, "security_groups", s)
        origin = format_path(path)
        ingress = self.sg_rules(path + ("ingress",), vpc, sg.get("ingress", []))
        if "egress" in sg:
            egress = self.sg_rules(path + ("egress",), vpc, sg["egress"])
        else:  # AWS: a new security group has one allow-all outbound rule
            egress = (m.SGRule(origin + ".egress[default]", m.Traffic(), cidr=ALL_IPV4),)
        return m.SecurityGroup(origin, vpc, sg["name"], ingress, egress)

    def sg_rules(self, path: DocPath, vpc: str, rules_data: list) -> tuple[m.SGRule, ...]:
        rules = []
        for r, rule in enumerate(rules_data):
            rule_path = path + (r,)
            traffic = self.traffic(rule_path, rule)
            if ("cidr" in rule) == ("security_group" in rule):
                self.report(rule_path, "a security group rule needs exactly one of 'cidr' or "
                                       "'security_group'")
                continue
            if "cidr" in rule:
                cidr = self.parsed(rule_path + ("cidr",), parse_network, rule["cidr"])
                if traffic and cidr:
                    rules.append(m.SGRule(format_path(rule_path), traffic, cidr=cidr))
                continue
            ref = self.resolve_sg(rule_path + ("security_group",), vpc, rule["security_group"],
                                  allow_peered=True)
            if traffic and ref:
                rules.append(m.SGRule(format_path(rule_path), traffic, security_group=ref))
        return tuple(rules)

    def resolve_sg(self, path: DocPath, vpc: str, name: str, allow_peered: bool) -> Optional[m.SGRef]:
        """'default' -> own VPC's; 'VPC/default' -> that VPC's; other names are file-unique."""
        if "/" in name:
            owner, _, bare = name.partition("/")
            if owner not in self.vpc_cidrs or bare != "default":
                self.report(path, f"'{name}': the 'VPC/name' form names another VPC's default SG, "
                                  "like 'dev/default'")
                return None
        elif name == "default":
            owner, bare = vpc, "default"
        elif name in self.sg_names:
            owner, bare = self.sg_names[name], name
        else:
            self.report(path, f"no security group named '{name}'")
            return None
        if owner != vpc and not (allow_peered and self.peered(vpc, owner)):
            where = "is not peered with" if allow_peered else "is not"
            self.report(path, f"security group '{name}' belongs to VPC '{owner}', which {where} "
                              f"VPC '{vpc}'" + ("" if allow_peered else
                                                "; an instance takes SGs of its own VPC"))
            return None
        return m.SGRef(owner, bare)
