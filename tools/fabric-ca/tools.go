//go:build tools

// Package tools records the Fabric CA commands this module builds, so that
// `go mod tidy` keeps their dependencies. It is never compiled.
package tools

import (
	_ "github.com/hyperledger/fabric-ca/cmd/fabric-ca-client"
	_ "github.com/hyperledger/fabric-ca/cmd/fabric-ca-server"
)
