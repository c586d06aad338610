package debfile

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Field is one field of a deb822 paragraph. Value holds continuation
// lines joined by "\n", each without the one leading space that marks it
// as a continuation (so a Description's empty line is ".").
type Field struct {
	Name, Value string
}

// Paragraph is a deb822 paragraph (a control file, one stanza of a
// Packages file, a Release file). Field order is kept: it is part of the
// bytes, and tools and people expect Package first.
type Paragraph []Field

// Control is a paragraph as a map, for lookups by exact field name.
// Continuation lines keep their leading space, so a value can be written
// back after its "Name: " as it is (a dpkg status entry).
type Control map[string]string

// Control returns p as a map; of a field given twice, the last wins.
func (p Paragraph) Control() Control {
	c := make(Control, len(p))
	for _, f := range p {
		c[f.Name] = strings.ReplaceAll(f.Value, "\n", "\n ")
	}
	return c
}

// Get returns a field's value; names compare case-insensitively, as in
// deb822.
func (p Paragraph) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Lookup returns a field's value and whether it is present.
func (p Paragraph) Lookup(name string) (string, bool) {
	for _, f := range p {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Set replaces a field's value, or appends the field.
func (p *Paragraph) Set(name, value string) {
	for i := range *p {
		if strings.EqualFold((*p)[i].Name, name) {
			(*p)[i].Value = value
			return
		}
	}
	*p = append(*p, Field{name, value})
}

// Delete removes a field if present.
func (p *Paragraph) Delete(name string) {
	out := (*p)[:0]
	for _, f := range *p {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*p = out
}

// String formats the paragraph, each field on its own line(s), ending in
// a newline and no blank line.
func (p Paragraph) String() string {
	var b strings.Builder
	for _, f := range p {
		lines := strings.Split(f.Value, "\n")
		b.WriteString(f.Name)
		b.WriteByte(':')
		if lines[0] != "" {
			b.WriteByte(' ')
			b.WriteString(lines[0])
		}
		for _, l := range lines[1:] {
			b.WriteString("\n ")
			b.WriteString(l)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Validate checks what would make the paragraph unreadable to dpkg or apt:
// empty or malformed names, and values whose lines would end the
// paragraph or start a new field.
func (p Paragraph) Validate() error {
	for _, f := range p {
		if f.Name == "" || strings.ContainsAny(f.Name, ": \t\n") || f.Name[0] == '#' || f.Name[0] == '-' {
			return fmt.Errorf("control field name %q is not valid", f.Name)
		}
		for i, l := range strings.Split(f.Value, "\n") {
			if i > 0 && strings.TrimSpace(l) == "" {
				return fmt.Errorf("control field %s has an empty continuation line (use \".\")", f.Name)
			}
			if strings.ContainsRune(l, '\r') {
				return fmt.Errorf("control field %s contains a carriage return", f.Name)
			}
		}
	}
	return nil
}

// ParseParagraphs reads deb822 paragraphs separated by blank lines: the
// one deb822 reader (control files, apt-cache output, Packages and
// Release files). Comment lines (#) are skipped, as dpkg does in control
// files. pault.ag/go/debian/control is not used: its values end in "\n"
// and turn " ." into an empty line, so a paragraph read and written back
// would not keep its bytes, and it takes a line of only blanks for a
// continuation rather than the end of a paragraph.
func ParseParagraphs(r io.Reader) ([]Paragraph, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []Paragraph
	var cur Paragraph
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case line[0] == '#':
		case line[0] == ' ' || line[0] == '\t':
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: continuation line before any field", n)
			}
			cur[len(cur)-1].Value += "\n" + line[1:]
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" {
				return nil, fmt.Errorf("line %d: %q is not a field", n, line)
			}
			cur = append(cur, Field{strings.TrimSpace(name), strings.TrimSpace(value)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read deb822 paragraphs: %w", err)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}
