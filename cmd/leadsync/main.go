// Command leadsync catches every lead the portals and CRMs send an estate
// agency: it accepts their webhooks, stores each lead durably in bbolt, and
// delivers it to the configured sinks. Run `leadsync --help`.
package main

import "os"

func main() { os.Exit(run(os.Args[1:])) }
