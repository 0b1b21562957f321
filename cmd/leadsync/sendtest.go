package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers/generic"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/providers/reapit"
	"github.com/leadsync/leadsync/providers/rechat"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
	"github.com/spf13/cobra"
)

// testSenders sign a realistic sample event as each provider would. A
// provider missing here has no send-test yet.
var testSenders = map[string]func(src config.Source, url string) (*http.Request, error){
	"hemnet": func(src config.Source, url string) (*http.Request, error) {
		if len(src.Keys) == 0 {
			return nil, fmt.Errorf("source %q has no keys to sign with", src.Name)
		}
		return hemnet.SignedRequest(url, []byte(src.Keys[0].Reveal()), hemnet.Sample(""), time.Now())
	},
	"reapit": func(src config.Source, url string) (*http.Request, error) {
		if src.Signature.Scheme == reapit.SignatureEd25519 {
			return nil, fmt.Errorf("source %q accepts only Ed25519 signatures, made with Reapit's private key: "+
				"send-test can sign only the legacy scheme (signature: legacy or any)", src.Name)
		}
		// The sample is an SBOX (sandbox) applicant: its lead has test: true,
		// so it reaches only sinks that ask for test leads.
		return reapit.SignedRequest(url, reapit.Sample("", ""), src.ClientID.Reveal())
	},
	"rechat": func(src config.Source, url string) (*http.Request, error) {
		return rechat.SignedRequest(url, src.Key.Reveal(), rechat.SampleContacts(1))
	},
	"generic": func(src config.Source, url string) (*http.Request, error) {
		s, err := lsync.BuildSource(src)
		if err != nil {
			return nil, err
		}
		g := s.(*generic.Source)
		now := time.Now()
		return g.SignedRequest(url, g.Sample(now), now)
	},
}

func newSendTest(g *globals) *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send-test SOURCE",
		Short: "Sign and POST a realistic sample event for SOURCE as its provider would, and print the answer",
		Long: `Sign a realistic sample event with the source's configured key, exactly as the
provider would, POST it to the running daemon, and print the HTTP answer. Each run
sends a new contact, so it makes a new lead (not a duplicate).

SOURCE is a source name from the config (the demo has "hemnet", "reapit" and
"rechat"; the reapit sample is a sandbox lead, test: true).
The URL defaults to http://<listen>/webhooks/SOURCE.`,
		Example: `  leadsync send-test hemnet
  leadsync send-test hemnet --url https://leads.agency.example/webhooks/hemnet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g)
			if err != nil {
				return err
			}
			var src *config.Source
			var names []string
			for i := range cfg.Sources {
				names = append(names, cfg.Sources[i].Name)
				if cfg.Sources[i].Name == args[0] {
					src = &cfg.Sources[i]
				}
			}
			if src == nil {
				return fmt.Errorf("no source named %q in the config (sources: %s)", args[0], strings.Join(names, ", "))
			}
			send := testSenders[src.Provider]
			if send == nil {
				return fmt.Errorf("send-test does not support provider %q yet", src.Provider)
			}
			if url == "" {
				url = "http://" + dialable(cfg.Listen) + "/webhooks/" + src.Name
			}
			req, err := send(*src, url)
			if err != nil {
				return err
			}
			resp, err := (&http.Client{Timeout: timeout}).Do(req)
			if err != nil {
				return fmt.Errorf("post %s: %w (is the daemon running?)", url, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			fmt.Fprintf(g.out, "POST %s\n%s\n%s\n", url, resp.Status, strings.TrimSpace(string(body)))
			if resp.StatusCode/100 != 2 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "where to POST (default http://<listen>/webhooks/SOURCE)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the answer")
	return cmd
}

// dialable turns a listen address into one a client can dial: a wildcard
// host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
