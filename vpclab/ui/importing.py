"""``vpclab import``: a snapshot directory, a live EC2 API or a Terraform plan as a design file,
checked as ``vpclab check`` would check it."""

from __future__ import annotations

import json

from controller.compiler import compile_topology
from controller.compiler.security_groups import TooManyGroups
from vpclab import aws_import
from vpclab.intent import model as m
from vpclab.intent.loader import load_topology
from vpclab.ui.arguments import UsageError, positive
from vpclab.ui.render import summary


def add_import_parser(commands) -> None:
    importer = commands.add_parser(
        "import",
        help="a real account's configuration (describe-* JSON files, a live EC2 API, or a "
        "Terraform plan) as a topology",
        description="DIR holds one JSON file per `aws ec2 describe-*` call (Vpcs.json, Subnets.json, "
        "RouteTables.json, ...), as Batfish reads them; or, with --region (and --endpoint), the same "
        "is asked of a live EC2 API with boto3; or, with --terraform, a plan (`terraform show -json "
        "PLAN`) is read as the network it leaves once applied. DIR may be a snapshot's top folder in "
        "any layout Batfish snapshots and AWS exports use (aws_configs/, a folder per Region, "
        "accounts/<id>/<region>/, Vpcs-<region>.json names): every account and Region becomes one "
        "design. What cannot be emulated is listed with its id (a plan's: its address) and the "
        "reason, never dropped (--report FILE.json keeps the list).",
    )
    importer.add_argument("directory", metavar="DIR", nargs="?")
    importer.add_argument(
        "--region",
        action="append",
        help="import from the EC2 API of this Region instead of DIR (repeat it: one design of every Region)",
    )
    importer.add_argument("--endpoint", metavar="URL", help="the EC2 API's URL (an emulator's; default AWS)")
    importer.add_argument(
        "--profile",
        action="append",
        help="an AWS credentials profile, one per account (repeat it; default: boto3's usual chain)",
    )
    importer.add_argument(
        "--terraform",
        metavar="PLAN.json",
        help="import a Terraform plan: the output of `terraform show -json PLAN` (or of a state)",
    )
    importer.add_argument("-o", "--output", required=True, metavar="TOPO.yaml", help="the topology to write")
    importer.add_argument(
        "--report", metavar="FILE.json", help="also write what was imported, skipped and changed"
    )
    importer.add_argument(
        "--servers-per-az", type=positive, default=1, help="servers for each AZ (default 1)"
    )
    importer.set_defaults(run=run_import)


def buildable(path: str) -> m.Topology:
    """The topology of ``path``, valid and within what the Nitro cards can hold (it compiles)."""
    topology = load_topology(path)
    try:
        compile_topology(topology)
    except TooManyGroups as error:
        raise UsageError(f"{path}: {error}") from None
    return topology


def run_import(args) -> int:
    """Write the topology, then check it as `check` would (a problem names the written file)."""
    if [bool(args.directory), bool(args.region), bool(args.terraform)].count(True) != 1:
        raise UsageError(
            "import from a directory (DIR), from an EC2 API (--region, --endpoint) or from a "
            "Terraform plan (--terraform PLAN.json), one of them"
        )
    if args.endpoint and not args.region:
        raise UsageError("--endpoint needs --region")
    try:
        if args.region:
            imported = aws_import.import_account(
                args.region, args.endpoint, args.servers_per_az, args.profile
            )
            source = f"the EC2 API at {args.endpoint or 'AWS'} ({', '.join(args.region)})"
        elif args.terraform:
            imported = aws_import.import_plan(args.terraform, args.servers_per_az)
            source = f"the Terraform plan {args.terraform}"
        else:
            imported = aws_import.import_directory(args.directory, args.servers_per_az)
            source = args.directory
    except aws_import.SnapshotError as error:
        raise UsageError(str(error)) from None
    text = aws_import.render(imported, source)
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise UsageError(f"{args.output}: cannot write it ({error.strerror})") from None
    print("\n".join(aws_import.summary_lines(imported)))
    if args.report:
        try:
            with open(args.report, "w", encoding="utf-8") as handle:
                json.dump(aws_import.report(imported, source), handle, indent=1)
        except OSError as error:
            raise UsageError(f"{args.report}: cannot write it ({error.strerror})") from None
    topology = buildable(args.output)
    print(f"wrote {args.output}")
    print(summary(topology))
    return 0
