package state

import "testing"

func TestPersonMatchesSpellings(t *testing.T) {
	p, err := newPerson(" John.Doe@Example.com ", "070-111 222 333")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"email":"john.doe@example.com"}`, true},
		{`{"email":"JOHN.DOE@EXAMPLE.COM"}`, true},
		{`{"email":"john.doe\u0040example.com"}`, true},
		{`{"email":"john.doe\u0040EXAMPLE\u002ecom"}`, true},
		{`{"phone":"070111222333"}`, true},
		{`{"phone":"070-111 222 333"}`, true},
		{`{"phone":"+46 70 111 222 333"}`, true},
		{`{"phone":"+46 (0)70-111.222.333"}`, true},
		{`{"phone":"0046701112223 33"}`, true},
		{`{"phone":"\u002b46 70 111 222 333"}`, true},
		{`{"email":"jane.doe@example.com","phone":"070111222334"}`, false},
		{`{"ts":1712918356462,"phone":"070111222"}`, false},
		{`{"n":[70111222333444]}`, false},
		{`{"a":"john.doe@example.co"}`, false},
		{`{"a":"xjohn.doe@example.com"}`, false},
		{`{"a":"john.doe@example.com.evil"}`, false},
		{`{"a":"john.doe@example.community"}`, false},
		{`mailto:john.doe@example.com.`, true},
		{`<john.doe@example.com>`, true},
	} {
		if got := p.text([]byte(c.body)); got != c.want {
			t.Errorf("text(%s) = %v, want %v", c.body, got, c.want)
		}
	}
	us, _ := newPerson("", "(555) 123-4567")
	if !us.text([]byte(`"phone":"+1 555 123 4567"`)) || us.text([]byte(`"phone":"+1 555 123 4568"`)) {
		t.Error("US national and international forms")
	}
	for _, c := range []struct {
		lead string
		want bool
	}{
		{`{"person":{"email":"JOHN.doe@example.com ","phone":null}}`, true},
		{`{"person":{"email":null,"phone":"+46701112 22333"}}`, true},
		{`{"person":{"email":"x@example.com","phone":"070111222333"}}`, true},
		{`{"person":{"email":"x@example.com","phone":"111222333"}}`, false},     // not the same number without its area code
		{`{"person":{"email":"x@example.com","phone":"4670111222333"}}`, false}, // no "+": a different number
		{`{"person":{"email":"john.doe@example.com.evil","phone":null}}`, false},
		{`{"person":{"email":null,"phone":null}}`, false},
	} {
		if got := p.lead([]byte(c.lead)); got != c.want {
			t.Errorf("lead(%s) = %v, want %v", c.lead, got, c.want)
		}
	}
}
