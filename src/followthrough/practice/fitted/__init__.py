"""A simulation of your own company: the business simulation's scenario fitted from the desk's
history, checked on months it did not see, and used to try a change before making it."""
