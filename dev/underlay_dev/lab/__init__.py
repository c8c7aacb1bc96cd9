"""The embedded lab: lab hosts in network namespaces on a lab switch, on this kernel or inside a kernel box."""
