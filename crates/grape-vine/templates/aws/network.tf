# The network: a new VPC across up to three availability zones, or an existing one whose
# subnets split into public and private by map_public_ip_on_launch.

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  new_network = var.provision_network
  azs = slice(
    data.aws_availability_zones.available.names, 0,
    min(3, length(data.aws_availability_zones.available.names))
  )
  az_count  = local.new_network ? length(local.azs) : 0
  nat_count = local.new_network ? (var.single_nat_gateway ? 1 : local.az_count) : 0

  vpc_id             = local.new_network ? aws_vpc.this[0].id : data.aws_vpc.existing[0].id
  public_subnet_ids  = local.new_network ? aws_subnet.public[*].id : data.aws_subnets.existing_public[0].ids
  private_subnet_ids = local.new_network ? aws_subnet.private[*].id : data.aws_subnets.existing_private[0].ids
}

resource "aws_vpc" "this" {
  count = local.new_network ? 1 : 0

  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.name }
}

resource "aws_internet_gateway" "this" {
  count = local.new_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = { Name = local.name }
}

# Sixteen equal blocks of the range: public subnets take blocks 0-2, private ones 8-10.
resource "aws_subnet" "public" {
  count = local.az_count

  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.cidr_block, 4, count.index)
  map_public_ip_on_launch = true

  tags = {
    Name                                  = "${local.name}-public-${local.azs[count.index]}"
    "kubernetes.io/role/elb"              = "1"
    "kubernetes.io/cluster/${local.name}" = "shared"
  }
}

resource "aws_subnet" "private" {
  count = local.az_count

  vpc_id            = aws_vpc.this[0].id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index + 8)

  tags = {
    Name                                  = "${local.name}-private-${local.azs[count.index]}"
    "kubernetes.io/role/internal-elb"     = "1"
    "kubernetes.io/cluster/${local.name}" = "shared"
    "karpenter.sh/discovery"              = local.name
  }
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"
  tags   = { Name = "${local.name}-nat-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = { Name = "${local.name}-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  count = local.new_network ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = { Name = "${local.name}-public" }
}

resource "aws_route" "public_internet" {
  count = local.new_network ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = local.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  count = local.az_count

  vpc_id = aws_vpc.this[0].id
  tags   = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  count = local.az_count

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
}

resource "aws_route_table_association" "private" {
  count = local.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

data "aws_vpc" "existing" {
  count = local.new_network ? 0 : 1

  id = var.network_id
}

data "aws_subnets" "existing_public" {
  count = local.new_network ? 0 : 1

  filter {
    name   = "vpc-id"
    values = [var.network_id]
  }
  filter {
    name   = "map-public-ip-on-launch"
    values = ["true"]
  }
}

data "aws_subnets" "existing_private" {
  count = local.new_network ? 0 : 1

  filter {
    name   = "vpc-id"
    values = [var.network_id]
  }
  filter {
    name   = "map-public-ip-on-launch"
    values = ["false"]
  }
}
