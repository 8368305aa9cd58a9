"""The shell's verbs that create, delete and attach a VPC's objects (the runtime changes the
EC2 API's Create/Delete/Associate/Attach/Modify calls make): security groups, route tables,
NACLs, subnets, further CIDRs, an internet gateway, an instance's groups, source/dest check
and public IP; VPCs; and instances launched, terminated, stopped and started (RunInstances,
TerminateInstances, StopInstances, StartInstances)."""

from __future__ import annotations

from typing import TYPE_CHECKING

SWITCHES = {"on": True, "off": False}


class ResourceVerbs:
    """Mixed into the shell: needs ``change`` and ``usage``."""

    if TYPE_CHECKING:  # what the shell (vpclab.ui.shell.VpcCLI) provides

        def usage(self, method) -> None: ...
        def change(self, operation: str, **arguments) -> None: ...

    def _two(self, line, operation, verb, first="vpc", second="name"):
        words = line.split()
        if len(words) != 2:
            return self.usage(verb)
        return self.change(operation, **{first: words[0], second: words[1]})

    def _one(self, line, operation, verb, key="name", **more):
        words = line.split()
        if len(words) != 1:
            return self.usage(verb)
        return self.change(operation, **{key: words[0]}, **more)

    def do_sg_create(self, line):
        """Usage: sg-create VPC NAME  -- a new security group (all IPv4 out, nothing in)."""
        return self._two(line, "create-security-group", self.do_sg_create)

    def do_sg_delete(self, line):
        """Usage: sg-delete VPC NAME  -- delete a security group nothing uses any longer."""
        return self._two(line, "delete-security-group", self.do_sg_delete)

    def do_table_create(self, line):
        """Usage: table-create VPC NAME  -- a new route table (its local routes only)."""
        return self._two(line, "create-route-table", self.do_table_create)

    def do_table_delete(self, line):
        """Usage: table-delete VPC NAME  -- delete a route table no subnet uses."""
        return self._two(line, "delete-route-table", self.do_table_delete)

    def do_nacl_create(self, line):
        """Usage: nacl-create VPC NAME  -- a new NACL (no rules: its '*' denies everything)."""
        return self._two(line, "create-nacl", self.do_nacl_create)

    def do_nacl_delete(self, line):
        """Usage: nacl-delete VPC NAME  -- delete a NACL no subnet uses."""
        return self._two(line, "delete-nacl", self.do_nacl_delete)

    def do_subnet_delete(self, line):
        """Usage: subnet-delete VPC NAME  -- delete a subnet nothing has an interface in."""
        return self._two(line, "delete-subnet", self.do_subnet_delete)

    def do_cidr_add(self, line):
        """Usage: cidr-add VPC CIDR  -- a further IPv4 CIDR for a VPC."""
        return self._two(line, "add-vpc-cidr", self.do_cidr_add, second="cidr")

    def do_cidr_remove(self, line):
        """Usage: cidr-remove VPC CIDR  -- take a further CIDR (one no subnet is in) off a VPC."""
        return self._two(line, "remove-vpc-cidr", self.do_cidr_remove, second="cidr")

    def do_igw_attach(self, line):
        """Usage: igw-attach VPC NAME  -- attach an internet gateway to a VPC."""
        return self._two(line, "attach-internet-gateway", self.do_igw_attach)

    def do_igw_detach(self, line):
        """Usage: igw-detach VPC NAME  -- detach a VPC's internet gateway (its routes: blackholes)."""
        return self._two(line, "detach-internet-gateway", self.do_igw_detach)

    def do_subnet_create(self, line):
        """Usage: subnet-create VPC NAME CIDR [AZ]  -- a new subnet of a VPC (default AZ a)."""
        words = line.split()
        if len(words) not in (3, 4):
            return self.usage(self.do_subnet_create)
        return self.change(
            "create-subnet", vpc=words[0], name=words[1], cidr=words[2], az=(words[3:] or ["a"])[0]
        )

    def do_table_use(self, line):
        """Usage: table-use VPC SUBNET TABLE|main  -- the route table a subnet uses."""
        return self._use(line, "associate-route-table", self.do_table_use)

    def do_nacl_use(self, line):
        """Usage: nacl-use VPC SUBNET NACL|default  -- the NACL a subnet uses."""
        return self._use(line, "associate-nacl", self.do_nacl_use)

    def _use(self, line, operation, verb):
        words = line.split()
        if len(words) != 3:
            return self.usage(verb)
        return self.change(operation, vpc=words[0], subnet=words[1], name=words[2])

    def do_instance_groups(self, line):
        """Usage: instance-groups INSTANCE SG [SG...]  -- replace an instance's security groups."""
        words = line.split()
        if len(words) < 2:
            return self.usage(self.do_instance_groups)
        return self.change("set-instance-groups", instance=words[0], groups=words[1:])

    def do_source_dest_check(self, line):
        """Usage: source-dest-check INSTANCE on|off  -- an instance's source/destination check."""
        words = line.split()
        if len(words) != 2 or words[1] not in SWITCHES:
            return self.usage(self.do_source_dest_check)
        return self.change("set-source-dest-check", instance=words[0], enabled=SWITCHES[words[1]])

    def do_public_ip(self, line):
        """Usage: public-ip INSTANCE ADDRESS|none  -- an instance's Elastic IP (none: remove it)."""
        words = line.split()
        if len(words) != 2:
            return self.usage(self.do_public_ip)
        return self.change(
            "set-public-ip", instance=words[0], address=None if words[1] == "none" else words[1]
        )

    def do_vpc_create(self, line):
        """Usage: vpc-create NAME CIDR  -- a new VPC (its main route table, default NACL and group)."""
        return self._two(line, "create-vpc", self.do_vpc_create, first="name", second="cidr")

    def do_vpc_delete(self, line):
        """Usage: vpc-delete NAME  -- delete a VPC that holds nothing but its defaults."""
        return self._one(line, "delete-vpc", self.do_vpc_delete)

    def do_nat_create(self, line):
        """Usage: nat-create VPC SUBNET NAME ELASTIC-IP  -- a public NAT gateway (its VPC needs an
        internet gateway), e.g. nat-create shop web-a nat-c 203.0.113.77."""
        words = line.split()
        if len(words) != 4:
            return self.usage(self.do_nat_create)
        vpc, subnet, name, address = words
        return self.change("create-nat-gateway", vpc=vpc, subnet=subnet, name=name, public_ip=address)

    def do_endpoint_create(self, line):
        """Usage: endpoint-create VPC NAME SERVICE [TABLE...]  -- a gateway endpoint to s3 or
        dynamodb, with AWS's route in each TABLE, e.g. endpoint-create shop s3-ep s3 private-a-rt."""
        words = line.split()
        if len(words) < 3:
            return self.usage(self.do_endpoint_create)
        vpc, name, service, *tables = words
        return self.change("create-vpc-endpoint", vpc=vpc, name=name, service=service, route_tables=tables)

    def do_endpoint_interface(self, line):
        """Usage: endpoint-interface VPC NAME SERVICE SUBNET... [sg=GROUP...]  -- an interface
        endpoint to an AWS service (com.amazonaws.REGION.NAME): a network interface in each
        SUBNET, its name answered by the VPC's resolver, e.g.
        endpoint-interface shop sqs-ep com.amazonaws.us-east-1.sqs app-a app-b sg=app-sg."""
        words = line.split()
        groups = [w[len("sg=") :] for w in words if w.startswith("sg=")]
        words = [w for w in words if not w.startswith("sg=")]
        if len(words) < 4:
            return self.usage(self.do_endpoint_interface)
        vpc, name, service, *subnets = words
        return self.change(
            "create-vpc-endpoint",
            vpc=vpc,
            name=name,
            service=service,
            subnets=subnets,
            security_groups=groups,
            interface=True,
        )

    def do_endpoint_subnets(self, line):
        """Usage: endpoint-subnets NAME +SUBNET|-SUBNET...  -- an interface endpoint's subnets
        added (+, an interface at the subnet's first free address) or removed (-)."""
        words = line.split()
        if len(words) < 2 or any(w[0] not in "+-" or len(w) < 2 for w in words[1:]):
            return self.usage(self.do_endpoint_subnets)
        added = [w[1:] for w in words[1:] if w[0] == "+"]
        removed = [w[1:] for w in words[1:] if w[0] == "-"]
        return self.change("modify-vpc-endpoint", name=words[0], add_subnets=added, remove_subnets=removed)

    def do_endpoint_tables(self, line):
        """Usage: endpoint-tables NAME +TABLE|-TABLE...  -- a gateway endpoint's route tables
        added (+) or removed (-), its route with them."""
        words = line.split()
        if len(words) < 2 or any(w[0] not in "+-" or len(w) < 2 for w in words[1:]):
            return self.usage(self.do_endpoint_tables)
        added = [w[1:] for w in words[1:] if w[0] == "+"]
        removed = [w[1:] for w in words[1:] if w[0] == "-"]
        return self.change(
            "modify-vpc-endpoint", name=words[0], add_route_tables=added, remove_route_tables=removed
        )

    def do_endpoint_delete(self, line):
        """Usage: endpoint-delete NAME  -- delete an endpoint (a gateway's routes, an interface
        endpoint's interfaces go with it)."""
        return self._one(line, "delete-vpc-endpoint", self.do_endpoint_delete)

    def do_nat_delete(self, line):
        """Usage: nat-delete VPC NAME  -- delete a NAT gateway (routes to it become blackholes)."""
        return self._two(line, "delete-nat-gateway", self.do_nat_delete)

    def do_launch(self, line):
        """Usage: launch VPC SUBNET NAME [SG...] [ip=ADDRESS]  -- a new instance, running at once
        (its VPC's default group unless groups are named; the subnet's lowest free address)."""
        words = [w for w in line.split() if not w.startswith("ip=")]
        given = [w[3:] for w in line.split() if w.startswith("ip=")]
        if len(words) < 3 or len(given) > 1:
            return self.usage(self.do_launch)
        vpc, subnet, name, *groups = words
        extra = {"security_groups": groups} if groups else {}
        if given:
            extra["ip"] = given[0]
        return self.change("launch-instance", vpc=vpc, subnet=subnet, name=name, **extra)

    def do_terminate(self, line):
        """Usage: terminate INSTANCE  -- terminate an instance (its host goes; routes to it: blackholes)."""
        return self._one(line, "terminate-instance", self.do_terminate, key="instance")

    def do_stop(self, line):
        """Usage: stop INSTANCE  -- stop an instance (its eth0 goes down, what ran in it ends; an
        automatic public IP is released)."""
        return self._one(line, "stop-instance", self.do_stop, key="instance")

    def do_start(self, line):
        """Usage: start INSTANCE  -- start a stopped instance (a new automatic public IP)."""
        return self._one(line, "start-instance", self.do_start, key="instance")

    def do_tgw_create(self, line):
        """Usage: tgw-create NAME  -- a transit gateway with AWS's defaults: a route table NAME-rt
        that new attachments are associated with and propagate into."""
        return self._one(
            line, "create-transit-gateway", self.do_tgw_create, default_table=f"{line.strip()}-rt"
        )

    def do_tgw_delete(self, line):
        """Usage: tgw-delete NAME  -- delete a transit gateway without attachments."""
        return self._one(line, "delete-transit-gateway", self.do_tgw_delete)

    def do_tgw_attach(self, line):
        """Usage: tgw-attach TGW NAME VPC SUBNET...  -- attach a VPC (a subnet per AZ) to a
        transit gateway."""
        words = line.split()
        if len(words) < 4:
            return self.usage(self.do_tgw_attach)
        tgw, name, vpc, *subnets = words
        return self.change("create-tgw-attachment", tgw=tgw, name=name, vpc=vpc, subnets=subnets)

    def do_tgw_detach(self, line):
        """Usage: tgw-detach TGW NAME  -- delete an attachment (routes through it become blackholes)."""
        return self._two(line, "delete-tgw-attachment", self.do_tgw_detach, first="tgw")

    def do_tgw_table_create(self, line):
        """Usage: tgw-table-create TGW NAME  -- a route table of a transit gateway."""
        return self._two(line, "create-tgw-route-table", self.do_tgw_table_create, first="tgw")

    def do_tgw_table_delete(self, line):
        """Usage: tgw-table-delete TGW NAME  -- delete a TGW route table nothing is associated with."""
        return self._two(line, "delete-tgw-route-table", self.do_tgw_table_delete, first="tgw")
