// Package hemnet is the Hemnet (Sweden) webhook source: it verifies Hemnet's
// HMAC-signed webhooks and maps CONTACT/CREATE events to leads.
//
// # Verification
//
// X-Signature holds the hex HMAC-SHA256 of the raw body under each active
// webhook key, comma-separated while Hemnet rotates keys; any signature
// matching any configured key passes. The body is verified exactly as
// received: Hemnet escapes characters such as & as \u0026, and a body
// decoded and re-encoded would no longer match its signature.
//
// X-Timestamp (Unix milliseconds) is checked against Config.MaxClockSkew.
// Hemnet does not sign it, so the window is not replay protection (intake's
// dedupe is); it turns away requests whose sender clock or queue is far off,
// and stale captures replayed by a careless tool.
//
// # Mapping
//
// Every attribute of Hemnet's Contact object is mapped (see Parse);
// recipientType (BROKER or BROKER_AGENCY) goes verbatim to
// assignment.recipient_type.
//
// The lead's intent is derived as follows, because Hemnet has no intent
// field of its own:
//
//   - contactReason BUYING_ADVICE → "buy"
//   - contactReason SELLING_ADVICE → "sell"
//   - otherwise (OTHER, null or a future value) "buy" when the contact came
//     from a listing form (source LISTING_*: a person asking about a home for
//     sale, upcoming or sold), and "other" when it came from a broker or
//     agency page, where nothing says what the person wants.
//
// contactReason itself is kept verbatim as interest.reason, so a sink can
// apply its own rule.
//
// A contact received from one of Hemnet's sandbox addresses (the
// hemnet-sandbox preset) is test data: test is true.
//
// Hemnet's ids are numbers in some objects and strings in others; they are
// all carried as strings, copied digit for digit from the JSON (never through
// float64, which would round large ids and print 1e+06).
package hemnet
