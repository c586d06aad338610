package platforms

// Problem is one fault found in a matrix, with its position.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	return p.File + ":" + itoa(p.Line) + ":" + itoa(p.Column) + ": " + p.Message
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// Validate reports every problem in a parsed matrix. (Placeholder: the
// full validator with positions replaces this.)
func Validate(m *Matrix) []Problem { return nil }
