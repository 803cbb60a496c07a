package resp

import (
	"strconv"
	"strings"
)

// SplitArgs splits a line into words as Redis's sdssplitargs does:
// blanks separate, "double quotes" (with \ escapes) and 'single quotes'
// group; a closing quote must end the word. ok is false on bad quoting.
// Script shebangs and the config file read their lines with it.
func SplitArgs(line string) ([]string, bool) {
	var out []string
	i := 0
	for {
		for i < len(line) && strings.IndexByte(" \n\r\t\f\v", line[i]) >= 0 {
			i++
		}
		if i >= len(line) {
			return out, true
		}
		var word strings.Builder
		var quote byte
		for ; ; i++ {
			if i >= len(line) {
				if quote != 0 {
					return nil, false
				}
				break
			}
			c := line[i]
			if quote == 0 {
				if strings.IndexByte(" \n\r\t\f\v", c) >= 0 {
					break
				}
				if c == '"' || c == '\'' {
					quote = c
					continue
				}
				word.WriteByte(c)
				continue
			}
			if c == '\\' && i+1 < len(line) {
				if quote == '\'' && line[i+1] == '\'' {
					i++
					word.WriteByte('\'')
					continue
				}
				if quote == '"' {
					i++
					word.WriteByte(unescape(line, &i))
					continue
				}
			}
			if c == quote {
				if i+1 < len(line) && strings.IndexByte(" \n\r\t\f\v", line[i+1]) < 0 {
					return nil, false
				}
				i++
				break
			}
			word.WriteByte(c)
		}
		out = append(out, word.String())
	}
}

// unescape reads the escape after a backslash at line[*i] inside
// double quotes, as sdssplitargs does: \n \r \t \b \a, \xHH, or the
// character itself.
func unescape(line string, i *int) byte {
	switch c := line[*i]; c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	case 'x':
		if *i+2 < len(line) {
			if v, err := strconv.ParseUint(line[*i+1:*i+3], 16, 8); err == nil {
				*i += 2
				return byte(v)
			}
		}
		return c
	default:
		return c
	}
}
