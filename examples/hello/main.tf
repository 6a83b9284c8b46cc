# A Vintner example that needs no cloud account: only Terraform's built-in resources.
# `cargo xtask demo` plans and applies it through Trellis and a Tendril, with its state in S3
# (a local S3 emulator during the demo).

variable "vine" {
  type        = string
  description = "Name of this vine."
  default     = "hello"
}

variable "replicas" {
  type    = number
  default = 3
}

resource "terraform_data" "network" {
  input = {
    name = "${var.vine}-network"
    cidr = "10.42.0.0/16"
  }
}

resource "terraform_data" "node" {
  count = var.replicas
  input = {
    name    = "${var.vine}-node-${count.index}"
    network = terraform_data.network.output.name
  }

  provisioner "local-exec" {
    command = "echo bootstrapping ${var.vine}-node-${count.index}; sleep 1; echo ${var.vine}-node-${count.index} ready"
  }
}

output "network" {
  value = terraform_data.network.output.name
}

output "nodes" {
  value = [for n in terraform_data.node : n.output.name]
}
