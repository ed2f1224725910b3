package modelcard

import (
	"bytes"
	"strings"
	"unicode"
)

// Markdown renders the card with the registry's facts as Markdown
// (CommonMark with GitHub's tables) for a person to read: the title
// "<model> v<version>", Mitchell et al.'s nine sections with what people
// wrote and what the registry recorded (version, files, datasets, runs,
// metrics), the approvals and deployments, then the EU AI Act sections. A
// section or field with nothing in it says "Not provided.".
//
// All text from the card and the facts is escaped, so that it reads as
// written and cannot add links, images, HTML, headings, lists or table
// cells: every character Markdown gives a meaning to is backslash-escaped,
// leading blanks are dropped, and a table cell or list item is one line.
// (A bare URL in a text may still be shown as a link by renderers that
// autolink, with the URL itself as its text.)
func Markdown(c Card, f Facts) []byte {
	var b bytes.Buffer
	writeMarkdown(&b, buildPage(c, f))
	return b.Bytes()
}

func writeMarkdown(b *bytes.Buffer, p page) {
	b.WriteString("# " + mdInline(p.Title) + "\n\n")
	b.WriteString(mdInline(p.Summary) + "\n")
	for _, s := range p.Sections {
		b.WriteString("\n" + strings.Repeat("#", s.Level) + " " + mdInline(s.Title) + "\n")
		if len(s.Blocks) == 0 {
			b.WriteString("\n" + notProvided + "\n")
		}
		for _, bl := range s.Blocks {
			writeMarkdownBlock(b, bl)
		}
	}
}

func writeMarkdownBlock(b *bytes.Buffer, bl block) {
	if bl.Heading != "" {
		b.WriteString("\n**" + mdInline(bl.Heading) + "**\n")
	}
	if bl.Text != "" {
		b.WriteString("\n" + mdText(bl.Text) + "\n")
	}
	for _, f := range bl.Fields {
		label := "**" + mdInline(f.Label) + ":**"
		switch {
		case f.empty():
			b.WriteString("\n" + label + " " + notProvided + "\n")
		case f.List != nil:
			b.WriteString("\n" + label + "\n\n")
			writeMarkdownList(b, f.List)
		default:
			b.WriteString("\n" + label + " " + mdText(f.Value) + "\n")
		}
	}
	if bl.List != nil {
		b.WriteString("\n")
		writeMarkdownList(b, bl.List)
	}
	if t := bl.Table; t != nil {
		b.WriteString("\n")
		if t.Caption != "" {
			b.WriteString("*" + mdInline(t.Caption) + "*\n\n")
		}
		writeMarkdownRow(b, t.Head)
		b.WriteString("|" + strings.Repeat(" --- |", len(t.Head)) + "\n")
		for _, r := range t.Rows {
			writeMarkdownRow(b, r)
		}
	}
}

func writeMarkdownList(b *bytes.Buffer, items []string) {
	for _, it := range items {
		b.WriteString("- " + mdInline(it) + "\n")
	}
}

func writeMarkdownRow(b *bytes.Buffer, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + mdInline(c) + " |")
	}
	b.WriteString("\n")
}

// mdSpecial are the characters escaped wherever they are: those that open
// emphasis, code, links, images, HTML, entities, headings, block quotes,
// strikethrough, math and table cells, and the backslash itself. (Parentheses need no escape:
// without an escaped "[" before them they make no link.)
const mdSpecial = "\\`*_{}[]<>#|!~&$"

// mdInline escapes text for one line: a heading, a table cell, a list item.
// Line breaks become spaces.
func mdInline(s string) string {
	return mdLine(strings.Join(strings.Fields(normaliseText(s)), " "))
}

// mdText escapes text that may have several lines: each line is escaped
// and kept as a line break; a blank line separates paragraphs.
func mdText(s string) string {
	lines := strings.Split(normaliseText(s), "\n")
	var out []string
	blank := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, mdLine(l))
	}
	// A hard line break ends each line but the last of a paragraph.
	for i := range out {
		if i+1 < len(out) && out[i] != "" && out[i+1] != "" {
			out[i] += "  "
		}
	}
	return strings.Join(out, "\n")
}

// normaliseText makes text valid UTF-8 with "\n" line ends and no control
// characters other than tabs and line ends.
func normaliseText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n").Replace(s)
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// mdLine escapes one line that has no leading blanks: every special
// character, and what would start a block at its beginning (a bullet or
// ordered list item, a thematic break, a setext underline). Such a marker
// is escaped only when what follows it is not a letter or digit ("-0.5"
// and "2.5" stay as they are).
func mdLine(l string) string {
	var b strings.Builder
	for i, r := range l {
		switch {
		case strings.ContainsRune(mdSpecial, r):
			b.WriteByte('\\')
		case i == 0 && (r == '-' || r == '+' || r == '=') && !alnumAt(l, i+1):
			b.WriteByte('\\')
		case (r == '.' || r == ')') && i > 0 && i <= 9 && allDigits(l[:i]) && !alnumAt(l, i+1):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// alnumAt reports whether s has an ASCII letter or digit at byte i.
func alnumAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	c := s[i]
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
