package config

import (
	_ "embed"
	"fmt"
)

// The demo config's secrets. They are public, so that `leadsync send-test`
// can sign sample events the demo daemon accepts; demo.yaml must use the
// same values (a test checks).
const (
	DemoHemnetKey      = "demo-hemnet-key"
	DemoReapitClientID = "demo-reapit-client"
	// DemoRechatKey is hex("leadsync-demo-rechat-key-0000000").
	DemoRechatKey = "6c65616473796e632d64656d6f2d7265636861742d6b65792d30303030303030"
)

//go:embed demo.yaml
var demoYAML []byte

// Demo returns the embedded demo config, loaded through Parse like any
// file, with Path "" and Demo true. It panics only if demo.yaml is broken,
// which its test rules out.
func Demo() *Config {
	cfg, err := Parse("demo config", demoYAML)
	if err != nil {
		panic(fmt.Sprintf("config: embedded demo config does not load:\n%v", err))
	}
	cfg.Demo = true
	return cfg
}
