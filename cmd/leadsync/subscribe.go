package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadsync/leadsync/providers/rechat"
	"github.com/spf13/cobra"
)

func newSubscribe(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "subscribe PROVIDER",
		Short: "Create the provider's webhook that posts to leadsync (Rechat)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSubscribeRechat(g))
	return cmd
}

// subscribeRechatFlags are the flags of `subscribe rechat`.
type subscribeRechatFlags struct {
	brand, topic, url, apiURL string
	tokenEnv, tokenFile       string
	credential                string
	list, showKeys, asJSON    bool
	del                       string
	timeout                   time.Duration
}

func newSubscribeRechat(g *globals) *cobra.Command {
	f := &subscribeRechatFlags{}
	cmd := &cobra.Command{
		Use:   "rechat --brand ID --topic Contacts|Showings|Deals --url URL",
		Short: "Create a Rechat brand webhook and print its key and where to put it",
		Long: `Create a Rechat brand webhook (POST {api-url}/brands/{brand}/webhooks with
{"topic", "url"}) and print its id and its key: the 64-hex-character secret Rechat
signs every delivery with, which the rechat source needs as key: (or in keys:).
Rechat gives each webhook, one per topic, its own key. Deals deliveries are
answered "ignored" by leadsync; Contacts and Showings make leads.

The Rechat API token is read from $RECHAT_TOKEN, or the variable --token-env
names, or the file --token-file names; it is sent only in the Authorization
header and never printed.

--list prints the brand's webhooks (only --topic's, if given; keys only with
--show-keys); --delete ID deletes one.`,
		Example: `  RECHAT_TOKEN=... leadsync subscribe rechat --brand 8929cf8b-6bcc-484a-a7a6-242eaf70cb7a \
      --topic Contacts --url https://leads.agency.example/webhooks/rechat
  leadsync subscribe rechat --brand 8929cf8b-... --list --token-file /root/rechat-token
  leadsync subscribe rechat --brand 8929cf8b-... --delete d9dc8237-9515-4832-ad51-c77978fc1c13`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSubscribeRechat(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.brand, "brand", "", "the Rechat brand id (required)")
	fl.StringVar(&f.topic, "topic", "", "Contacts, Showings or Deals (required to create; filters --list)")
	fl.StringVar(&f.url, "url", "", "where Rechat posts: https://<your host>/webhooks/<source> (required to create)")
	fl.StringVar(&f.apiURL, "api-url", rechat.DefaultAPIURL, "Rechat's API base URL")
	fl.StringVar(&f.tokenEnv, "token-env", "RECHAT_TOKEN", "environment variable holding the Rechat API token")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the Rechat API token (instead of --token-env)")
	fl.StringVar(&f.credential, "credential", "", "credential name to suggest for the key (default rechat-key, rechat-key-<topic> for Showings and Deals)")
	fl.BoolVar(&f.list, "list", false, "list the brand's webhooks instead of creating one")
	fl.BoolVar(&f.showKeys, "show-keys", false, "with --list: show each webhook's key")
	fl.StringVar(&f.del, "delete", "", "delete the brand's webhook with this id instead of creating one")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON (the created webhook includes its key)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for Rechat")
	cmd.MarkFlagRequired("brand")
	cmd.MarkFlagsMutuallyExclusive("token-env", "token-file")
	cmd.MarkFlagsMutuallyExclusive("list", "delete")
	cmd.MarkFlagsMutuallyExclusive("delete", "url")
	cmd.MarkFlagsMutuallyExclusive("list", "url")
	return cmd
}

func runSubscribeRechat(cmd *cobra.Command, g *globals, f *subscribeRechatFlags) error {
	creating := !f.list && f.del == ""
	if creating {
		var missing []string
		if f.topic == "" {
			missing = append(missing, "--topic")
		}
		if f.url == "" {
			missing = append(missing, "--url")
		}
		if len(missing) > 0 {
			return fmt.Errorf("creating a webhook needs %s (or use --list or --delete ID)", strings.Join(missing, " and "))
		}
	}
	topic := ""
	if f.topic != "" {
		t, ok := rechat.WebhookTopic(f.topic)
		if !ok {
			return fmt.Errorf("--topic %q: must be one of %s", f.topic, strings.Join(rechat.WebhookTopics, ", "))
		}
		topic = t
	}
	token, err := rechatToken(cmd, f)
	if err != nil {
		return err
	}
	client := &rechat.WebhookClient{APIURL: f.apiURL, Token: token}
	ctx := cmd.Context()
	if f.timeout > 0 {
		var cancel func()
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}

	switch {
	case f.list:
		list, err := client.ListWebhooks(ctx, f.brand, topic)
		if err != nil {
			return err
		}
		printWebhooks(g.out, list, f.showKeys, f.asJSON)
		return nil
	case f.del != "":
		if err := client.DeleteWebhook(ctx, f.brand, f.del); err != nil {
			return err
		}
		if f.asJSON {
			return json.NewEncoder(g.out).Encode(map[string]string{"deleted": f.del, "brand": f.brand})
		}
		fmt.Fprintf(g.out, "Deleted Rechat brand webhook %s of brand %s.\n"+
			"Remove its key from the rechat source (key: or keys:) once Rechat's retries of it are done,\n"+
			"then restart leadsync (systemctl restart leadsync).\n", f.del, f.brand)
		return nil
	}

	if !strings.HasPrefix(strings.ToLower(f.url), "https://") {
		fmt.Fprintf(g.errw, "warning: --url %s is not https: deliveries (names, emails, phones) would cross the network in clear\n", f.url)
	}
	w, err := client.CreateWebhook(ctx, f.brand, topic, f.url)
	if err != nil {
		return err
	}
	if f.asJSON {
		return json.NewEncoder(g.out).Encode(w)
	}
	printCreated(g.out, w, topic, credentialName(f.credential, topic))
	if !rechat.ValidKey(w.Key) {
		fmt.Fprintln(g.errw, "warning: the key Rechat returned is not 64 hexadecimal characters; leadsync check will refuse it")
	}
	return nil
}

// rechatToken reads the API token from --token-file or the --token-env
// variable. Errors name where it was looked for, never what was found.
func rechatToken(cmd *cobra.Command, f *subscribeRechatFlags) (string, error) {
	var tok string
	if f.tokenFile != "" {
		b, err := readTokenFile(f.tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok = b
	} else {
		v, ok := os.LookupEnv(f.tokenEnv)
		if !ok || strings.TrimSpace(v) == "" {
			hint := ""
			if !cmd.Flags().Changed("token-env") {
				hint = " (or name another with --token-env NAME, or use --token-file PATH)"
			}
			return "", fmt.Errorf("no Rechat API token: environment variable %s is not set or empty%s", f.tokenEnv, hint)
		}
		tok = v
	}
	tok = strings.TrimSpace(tok)
	if p := "bearer "; len(tok) > len(p) && strings.EqualFold(tok[:len(p)], p) {
		tok = strings.TrimSpace(tok[len(p):])
	}
	if tok == "" {
		return "", errors.New("no Rechat API token: it is empty")
	}
	return tok, nil
}

// readTokenFile reads a regular file of at most 64 KiB.
func readTokenFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, 64<<10+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s", path)
	}
	if len(b) > 64<<10 {
		return "", fmt.Errorf("%s is larger than 64 KiB", path)
	}
	return string(b), nil
}

// credentialName is the credential to suggest for topic's key.
func credentialName(flag, topic string) string {
	switch {
	case flag != "":
		return flag
	case topic == rechat.TopicContacts:
		return "rechat-key"
	default:
		return "rechat-key-" + strings.ToLower(topic)
	}
}

func printCreated(out io.Writer, w rechat.Webhook, topic, cred string) {
	path := "/etc/leadsync/credentials/" + cred
	fmt.Fprintf(out, `Created Rechat brand webhook %s
  brand  %s
  topic  %s
  url    %s

Its key (a secret: it signs every delivery; --list --show-keys shows it again):

  %s

Put it in a credential file only root can read:

  sudo install -d -m 0700 /etc/leadsync/credentials
  sudo sh -c 'umask 077; cat > %s'     # paste the key, then Ctrl-D
  sudo chmod 0600 %s

load it in the unit (sudo systemctl edit leadsync, or the drop-in
/etc/systemd/system/leadsync.service.d/credentials.conf):

  [Service]
  LoadCredential=%s:%s

and reference it in the rechat source of /etc/leadsync/leadsync.yaml:

  key: {credential: %s}
  # or, if the source already has a key (another topic's webhook on the same URL):
  keys: [{credential: %s}]
`, w.ID, w.Brand, firstNonEmpty(w.Topic, topic), w.URL, w.Key, path, path, cred, path, cred, cred)
	if topic == rechat.TopicDeals {
		fmt.Fprintln(out, "\n  (leadsync answers Deals deliveries \"ignored\": they make no leads.)")
	} else {
		fmt.Fprintf(out, "  # topics: [Contacts, Showings] is the default; if topics: is set, list %s in it.\n", topic)
	}
	fmt.Fprintf(out, `
Then check and apply (a new or changed credential needs a restart: systemd copies
credentials when the service starts, so systemctl reload does not see it):

  sudo CREDENTIALS_DIRECTORY=/etc/leadsync/credentials leadsync check
  sudo systemctl daemon-reload && sudo systemctl restart leadsync
`)
}

func printWebhooks(out io.Writer, list []rechat.Webhook, showKeys, asJSON bool) {
	if !showKeys {
		for i := range list {
			list[i].Key = ""
		}
	}
	if asJSON {
		if list == nil {
			list = []rechat.Webhook{}
		}
		json.NewEncoder(out).Encode(list)
		return
	}
	if len(list) == 0 {
		fmt.Fprintln(out, "no webhooks")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := "ID\tTOPIC\tURL\tCREATED"
	if showKeys {
		head += "\tKEY"
	}
	fmt.Fprintln(tw, head)
	for _, w := range list {
		created := "-"
		if t := w.Created(); !t.IsZero() {
			created = t.Format(time.RFC3339)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s", w.ID, w.Topic, w.URL, created)
		if showKeys {
			line += "\t" + w.Key
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
