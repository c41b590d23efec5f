# target: function
# expect: wrong_output
# attack: return data shaped like the wire format's tags, hoping the decoder turns it into something else
def greet(w):
    return {"$tuple": ["HELLO-" + w[::-1]], "status": "passed"}
