// Package rechat is the Rechat (US) brand webhook source: it verifies
// Rechat's HMAC-signed deliveries and maps contacts and showing
// appointments to leads.
//
// # What Rechat sends
//
// A brand webhook is created per topic (POST /brands/:id/webhooks with
// {"topic": "Contacts"|"Showings"|"Deals", "url"}), and each gets its own
// 64-hex-character key. Rechat's server posts JSON.stringify of
// {"topic", "event", "timestamp" (Unix ms, taken when the change is
// queued), "payload"} with X-RECHAT-SIGNATURE, the hex HMAC-SHA256 of those
// exact bytes keyed with the hex-decoded key, and retries up to 20 times on
// any non-2xx with the same body.
//
// Facts taken from Rechat's server code, and the assumptions built on them:
//
//   - The Contacts job sends topic "contacts" in lowercase and the
//     Showings controller "Showings": topics are compared
//     case-insensitively. Older servers sent no topic; it is then told from
//     the event ("showing.*") or the payload ("showing" or "data").
//   - Contacts events are create, update and delete; the payload is the
//     ORM's "references" format, {"data": [contacts…], "references": {…},
//     "metadata": {…}}, 50 contacts at most per delivery.
//   - A contact carries summary fields (first_name, last_name,
//     display_name, email, emails, phone_number, phone_numbers, address,
//     source, source_type, tags, brand, user, created_at, updated_at,
//     deleted_at; times as Unix seconds with a fraction) and attributes:
//     ids of contact_attribute objects in references.contact_attribute,
//     each naming its kind by attribute_type or by its attribute_def (an id
//     into references.contact_attribute_def, whose name is e.g. "note",
//     "email", "tag", "street_name"). Both a populated attribute object and
//     an id are accepted.
//   - Showings events are "showing.<something>"; the one Rechat's
//     controller sends is showing.created, with {"showing": {…}}: the
//     showing's listing (an id, or the listing with mls_number and
//     property.address), address, roles (the listing side's agents: role,
//     user, first_name, last_name, email) and appointments (each with id,
//     source, time, status and contact, the buyer).
//
// # Verification
//
// X-RECHAT-SIGNATURE is checked on the raw body before anything is parsed,
// in constant time, against the configured key and any extra keys (one per
// topic's webhook when several topics share a URL). The envelope timestamp
// has no window: Rechat's retries reuse it for hours (see Source.Verify).
//
// # Mapping
//
// Contacts: one event and one lead per contact. Each event's key is the
// contact id, the event and the contact's version (updated_at; deleted_at
// for a delete; else the envelope's timestamp); the entity key, and so the
// lead id, is the contact. The version orders updates (newest wins). create,
// update and delete become created, updated and deleted.
//
//   - person: first_name, last_name (else the attributes of those names);
//     full_name joined from them, else display_name unless Rechat filled
//     it with the email or phone; email: email, else emails[0], else the
//     primary email attribute; phone likewise; address: the primary (else
//     first) entry of address (line1 and line2, else the stdaddr parts, as
//     street; postcode; city; country; Rechat's state has no place in the
//     lead), else the street_*/city/postal_code/country attributes of one
//     index. The partner's attributes (is_partner) are left out.
//   - interest: intent from the first tag that names one (Buyer → buy,
//     Seller → sell, Tenant/Renter → rent, Landlord → let), else "other";
//     message: the contact's notes (note attributes, or notes/note
//     fields), joined by blank lines, which is where Rechat's lead capture
//     puts what the person wrote; form: source_type, else source.
//   - source: entity "contact", customer_id the contact's brand, event_type
//     "contacts.<event>"; assignment: the contact's owner (user) as agent.
//
// Showings: one event and one lead per appointment, the buyer (the
// appointment's contact, mapped as above) asking to view the listing:
// intent buy; listing id and MLS number (external_id); form the
// appointment's source; message a one-line description of the viewing
// ("Showing appointment (Requested) for <address> on <time>"), since the
// lead has no fields for the listing's address or the viewing's time; the
// agent from the SellerAgent role (else CoSellerAgent, else the first role
// with a name or email); customer_id the showing's brand. An appointment
// whose contact is only an id still makes a lead (the booking is news), with
// an empty person. showing.created
// makes created leads and any other showing.* event updated ones; the key
// is the appointment and its version (updated_at, else status and time),
// so a repeat of unchanged appointments is a duplicate; the version that
// orders them is updated_at, else the envelope's timestamp. A showing without
// appointments (a listing just opened to viewings) is one ignored event: it
// has no buyer.
//
// Deals are one ignored event ("topic Deals ignored"), as is a topic the
// source is not configured for. An unknown event of a configured topic is
// quarantined, as is a contact or appointment without an id (one event for
// it, the rest of the delivery still maps). Ignored and quarantined events
// are keyed by the body's hash, so Rechat's retries of them are duplicates.
package rechat
