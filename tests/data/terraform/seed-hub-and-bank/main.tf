# The seed's two stories as Terraform (vpclab's own fixture, written for `vpclab import
# --terraform`): the 2022 TGW hub (topologies/tgw-incident.yaml) with AWS's default association
# and propagation disabled, a hub and a spokes route table, their associations and propagations
# and the spokes' static 10.0.0.0/8 to the hub; and the 2019 bank (topologies/breach-2019.yaml):
# a WAF instance whose group lets the internet in on port 80, behind a NACL that allows all.
# Counted, for_each and module resources on purpose. plan.json: tests/data/terraform/make-plans.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "ec2_endpoint" {
  description = "the EC2 API the plan asks (tests/data/terraform/make-plans)"
  default     = "http://127.0.0.1:4599"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "vpclab"
  secret_key                  = "vpclab"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2 = var.ec2_endpoint
  }
}

locals {
  spokes = {
    app  = { cidr = "10.1.0.0/16", subnet = "10.1.1.0/24", subnet_name = "app", group = "app-sg", instance = "app1" }
    data = { cidr = "10.2.0.0/16", subnet = "10.2.1.0/24", subnet_name = "db", group = "db-sg", instance = "db1" }
  }
}

# -- the 2022 hub -------------------------------------------------------------------------------
resource "aws_ec2_transit_gateway" "core" {
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  tags                            = { Name = "core" }
}

resource "aws_vpc" "shared" {
  cidr_block = "10.0.0.0/16"
  tags       = { Name = "shared" }
}

resource "aws_subnet" "svc" {
  count             = 1
  vpc_id            = aws_vpc.shared.id
  cidr_block        = cidrsubnet(aws_vpc.shared.cidr_block, 8, count.index + 1)
  availability_zone = "us-east-1a"
  tags              = { Name = "svc" }
}

resource "aws_default_route_table" "shared" {
  default_route_table_id = aws_vpc.shared.default_route_table_id
  route {
    cidr_block         = "10.0.0.0/8"
    transit_gateway_id = aws_ec2_transit_gateway.core.id
  }
  tags = { Name = "shared-rt" }
}

resource "aws_security_group" "svc" {
  name   = "svc-sg"
  vpc_id = aws_vpc.shared.id
}

resource "aws_security_group_rule" "svc_in" {
  type              = "ingress"
  security_group_id = aws_security_group.svc.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["10.0.0.0/8"]
}

resource "aws_security_group_rule" "svc_out" {
  type              = "egress"
  security_group_id = aws_security_group.svc.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_instance" "svc1" {
  ami                    = "ami-0123456789abcdef0"
  instance_type          = "t3.micro"
  subnet_id              = aws_subnet.svc[0].id
  vpc_security_group_ids = [aws_security_group.svc.id]
  tags                   = { Name = "svc1" }
}

module "spoke" {
  source             = "./modules/spoke"
  for_each           = local.spokes
  name               = each.key
  cidr               = each.value.cidr
  subnet_cidr        = each.value.subnet
  subnet_name        = each.value.subnet_name
  group              = each.value.group
  instance           = each.value.instance
  transit_gateway_id = aws_ec2_transit_gateway.core.id
}

resource "aws_ec2_transit_gateway_vpc_attachment" "shared" {
  transit_gateway_id                              = aws_ec2_transit_gateway.core.id
  vpc_id                                          = aws_vpc.shared.id
  subnet_ids                                      = aws_subnet.svc[*].id
  transit_gateway_default_route_table_association = false
  transit_gateway_default_route_table_propagation = false
  tags                                            = { Name = "shared-att" }
}

resource "aws_ec2_transit_gateway_vpc_attachment" "spoke" {
  for_each                                        = local.spokes
  transit_gateway_id                              = aws_ec2_transit_gateway.core.id
  vpc_id                                          = module.spoke[each.key].vpc_id
  subnet_ids                                      = [module.spoke[each.key].subnet_id]
  transit_gateway_default_route_table_association = false
  transit_gateway_default_route_table_propagation = false
  tags                                            = { Name = "${each.key}-att" }
}

resource "aws_ec2_transit_gateway_route_table" "hub" {
  transit_gateway_id = aws_ec2_transit_gateway.core.id
  tags               = { Name = "hub" }
}

resource "aws_ec2_transit_gateway_route_table" "spokes" {
  transit_gateway_id = aws_ec2_transit_gateway.core.id
  tags               = { Name = "spokes" }
}

resource "aws_ec2_transit_gateway_route_table_association" "hub" {
  transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.shared.id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.hub.id
}

resource "aws_ec2_transit_gateway_route_table_association" "spokes" {
  for_each                       = local.spokes
  transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.spoke[each.key].id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.spokes.id
}

resource "aws_ec2_transit_gateway_route_table_propagation" "to_hub" {
  for_each                       = local.spokes
  transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.spoke[each.key].id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.hub.id
}

resource "aws_ec2_transit_gateway_route_table_propagation" "to_spokes" {
  for_each                       = local.spokes
  transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.spoke[each.key].id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.spokes.id
}

resource "aws_ec2_transit_gateway_route" "spokes_to_hub" {
  destination_cidr_block         = "10.0.0.0/8"
  transit_gateway_attachment_id  = aws_ec2_transit_gateway_vpc_attachment.shared.id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.spokes.id
}

# -- the 2019 bank --------------------------------------------------------------------------------
resource "aws_vpc" "bank" {
  cidr_block = "10.50.0.0/16"
  tags       = { Name = "bank" }
}

resource "aws_internet_gateway" "bank" {
  vpc_id = aws_vpc.bank.id
  tags   = { Name = "igw-bank" }
}

resource "aws_subnet" "web" {
  vpc_id            = aws_vpc.bank.id
  cidr_block        = "10.50.1.0/24"
  availability_zone = "us-east-1a"
  tags              = { Name = "web" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.bank.id
  tags   = { Name = "public-rt" }
}

resource "aws_route" "public_default" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.bank.id
}

resource "aws_route_table_association" "web" {
  subnet_id      = aws_subnet.web.id
  route_table_id = aws_route_table.public.id
}

resource "aws_network_acl" "web" {
  vpc_id     = aws_vpc.bank.id
  subnet_ids = [aws_subnet.web.id]
  tags       = { Name = "web-nacl" }
}

resource "aws_network_acl_rule" "web_in" {
  network_acl_id = aws_network_acl.web.id
  rule_number    = 100
  egress         = false
  protocol       = "-1"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
}

resource "aws_network_acl_rule" "web_out" {
  network_acl_id = aws_network_acl.web.id
  rule_number    = 100
  egress         = true
  protocol       = "-1"
  rule_action    = "allow"
  cidr_block     = "0.0.0.0/0"
}

resource "aws_security_group" "waf" {
  name   = "waf-sg"
  vpc_id = aws_vpc.bank.id
}

resource "aws_vpc_security_group_ingress_rule" "waf_http" {
  security_group_id = aws_security_group.waf.id
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "waf_out" {
  security_group_id = aws_security_group.waf.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_instance" "waf" {
  ami                         = "ami-0123456789abcdef0"
  instance_type               = "t3.micro"
  subnet_id                   = aws_subnet.web.id
  vpc_security_group_ids      = [aws_security_group.waf.id]
  associate_public_ip_address = true
  tags                        = { Name = "waf" }
}
